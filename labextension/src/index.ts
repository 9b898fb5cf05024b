/**
 * jobspawner-walltime: the batch job's time left in JupyterLab's status bar, warnings before
 * its walltime, and every open document saved before the scheduler ends the job.
 *
 * The server (jobspawner.walltime_server) answers GET api/jobspawner/walltime with the job's
 * end (the scheduler's, kept current by the hub), the warning times, when to save, and a
 * counter of save requests (the scheduler's warning signal raises it). What this JupyterLab
 * saved is POSTed back there, and the hub tells the user after the end. A server that does
 * not answer (an older server, c.JobSpawner.walltime_notices = False) shows nothing.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { ServerConnection } from '@jupyterlab/services';
import { IStatusBar } from '@jupyterlab/statusbar';
import { Widget } from '@lumino/widgets';

const API_PATH = 'api/jobspawner/walltime';

/** What the server tells (see jobspawner.walltime_server.Walltime.for_lab). */
interface IWalltime {
  end: number | null;
  source: string | null;
  now: number;
  warnings: number[];
  save_before: number;
  save: number;
  refresh: number;
}

/** "1 h 12 min left", "4 min left", "40 s left". */
export function timeLeft(seconds: number): string {
  if (seconds <= 0) {
    return 'time is up';
  }
  const s = Math.floor(seconds);
  if (s >= 3600) {
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return m ? `${h} h ${m} min left` : `${h} h left`;
  }
  if (s >= 60) {
    return `${Math.floor(s / 60)} min left`;
  }
  return `${s} s left`;
}

function clock(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toLocaleTimeString([], {
    hour: '2-digit',
    minute: '2-digit'
  });
}

class Walltime {
  constructor(app: JupyterFrontEnd, item: Widget | null) {
    this._app = app;
    this._item = item;
    this._settings = app.serviceManager.serverSettings;
  }

  async start(): Promise<void> {
    if (!(await this._ask())) {
      return; // no walltime here: nothing to show
    }
    window.setInterval(() => this._tick(), 1000);
    const poll = async (): Promise<void> => {
      await this._ask();
      window.setTimeout(poll, (this._data?.refresh ?? 10) * 1000);
    };
    window.setTimeout(poll, (this._data?.refresh ?? 10) * 1000);
    this._tick();
  }

  private async _ask(): Promise<boolean> {
    const url = URLExt.join(this._settings.baseUrl, API_PATH);
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, {}, this._settings);
    } catch {
      return this._data !== null; // the server is away for a moment
    }
    if (!response.ok) {
      return false;
    }
    const data = (await response.json()) as IWalltime;
    this._skew = data.now * 1000 - Date.now();
    this._data = data;
    if (data.save > this._saveSeen) {
      this._saveSeen = data.save;
      void this._saveAll('The scheduler is about to end this job');
    }
    return true;
  }

  /** Seconds until the job's end, or null when it is not known. */
  private _left(): number | null {
    const end = this._data?.end;
    if (end === null || end === undefined) {
      return null;
    }
    return end - (Date.now() + this._skew) / 1000;
  }

  private _tick(): void {
    const data = this._data;
    const left = this._left();
    if (this._item) {
      this._item.node.textContent = left === null ? '' : `Job: ${timeLeft(left)}`;
      this._item.node.title =
        left === null || !data?.end
          ? ''
          : `This server's batch job ends at ${clock(data.end)} (${
              data.source === 'scheduler' ? 'its time limit' : 'the run time it asked for'
            }); the scheduler stops it then.`;
    }
    if (left === null || !data?.end) {
      return;
    }
    // the nearest warning whose time has come, once per end (a changed limit warns again)
    const due = data.warnings.filter(w => left <= w && left > 0);
    if (due.length) {
      const nearest = Math.min(...due);
      const key = `${data.end}:${nearest}`;
      if (!this._warned.has(key)) {
        data.warnings.filter(w => w >= nearest).forEach(w => this._warned.add(`${data.end}:${w}`));
        this._warn(left, data);
      }
    }
    if (left <= data.save_before && this._savedFor !== data.end) {
      this._savedFor = data.end;
      void this._saveAll('The job reaches its time limit');
    }
  }

  private _warn(left: number, data: IWalltime): void {
    const lead = data.save_before >= 60 ? `${Math.round(data.save_before / 60)} min` : `${data.save_before} s`;
    Notification.warning(
      `This server's batch job reaches its time limit in ${timeLeft(left).replace(' left', '')}, at ${clock(
        data.end as number
      )}: the scheduler will stop it then. Open documents are saved ${lead} before; ` +
        'start a new server from the hub to go on.',
      {
        autoClose: false,
        actions: [
          {
            label: 'Save all now',
            callback: () => void this._saveAll('Saved on request')
          }
        ]
      }
    );
  }

  /** Save every open document with unsaved changes and tell the server what was saved. */
  private async _saveAll(why: string): Promise<void> {
    const contexts = new Map<string, DocumentRegistry.Context>();
    for (const widget of this._app.shell.widgets('main')) {
      const context = (widget as unknown as { context?: DocumentRegistry.Context }).context;
      if (context && context.model && !context.isDisposed) {
        contexts.set(context.path, context);
      }
    }
    const saved: string[] = [];
    const failed: string[] = [];
    for (const [path, context] of contexts) {
      if (!context.model.dirty || context.model.readOnly) {
        continue;
      }
      try {
        await context.save();
        saved.push(path);
      } catch {
        failed.push(path);
      }
    }
    try {
      await ServerConnection.makeRequest(
        URLExt.join(this._settings.baseUrl, API_PATH),
        { method: 'POST', body: JSON.stringify({ saved, failed }) },
        this._settings
      );
    } catch {
      // the notice after the end says less; the documents are saved all the same
    }
    const what = saved.length ? `saved ${saved.join(', ')}` : 'nothing was left unsaved';
    const lost = failed.length ? `; could not save ${failed.join(', ')}` : '';
    (failed.length ? Notification.error : Notification.info)(`${why}: ${what}${lost}.`, {
      autoClose: failed.length ? false : 10000
    });
  }

  private _app: JupyterFrontEnd;
  private _item: Widget | null;
  private _settings: ServerConnection.ISettings;
  private _data: IWalltime | null = null;
  private _skew = 0;
  private _saveSeen = 0;
  private _savedFor: number | null = null;
  private _warned = new Set<string>();
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jobspawner-walltime:plugin',
  description: "The batch job's time left, warnings before its walltime, and saving before it.",
  autoStart: true,
  optional: [IStatusBar],
  activate: (app: JupyterFrontEnd, statusBar: IStatusBar | null): void => {
    let item: Widget | null = null;
    if (statusBar) {
      item = new Widget();
      item.addClass('jp-StatusBar-TextItem');
      item.addClass('jobspawner-walltime');
      statusBar.registerStatusItem('jobspawner-walltime:time-left', {
        item,
        align: 'left',
        rank: 1000
      });
    }
    void new Walltime(app, item).start();
  }
};

export default plugin;
