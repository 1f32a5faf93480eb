/**
 * Vigilo's JupyterLab plugins. This file only wires: state lives in the
 * model (model.ts), drawing in the views (panel.tsx, statusbar.tsx).
 */
import { ILayoutRestorer, type JupyterFrontEnd, type JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { Signal } from '@lumino/signaling';
import { ActivityReporter, isExecutionCommand } from './activity';
import { notifyApiMismatch } from './compat';
import { vigiloIcon } from './icons';
import { VigiloModel } from './model';
import { AlertNotifier } from './notifications';
import { VigiloPanel } from './panel';
import { VigiloStatusItem } from './statusbar';
import { renderCounts } from './renderStats';
import { CommandIDs, IVigiloModel, PANEL_ID, PluginIDs, type ISidecarSettings, type IVigiloSettings } from './tokens';

/** The model: owns the connection; carries the settings schema (schema/plugin.json). */
const modelPlugin: JupyterFrontEndPlugin<IVigiloModel> = {
  id: PluginIDs.model,
  description: 'Connects to the Vigilo sidecar through the Jupyter server and keeps its latest figures.',
  autoStart: true,
  provides: IVigiloModel,
  optional: [ISettingRegistry],
  activate: (app: JupyterFrontEnd, registry: ISettingRegistry | null): IVigiloModel => {
    const model = new VigiloModel({ serverSettings: app.serviceManager.serverSettings });
    // Read by the render-work measurement (ui-tests): how often each view drew.
    (window as unknown as { vigiloRenderStats?: () => Record<string, number> }).vigiloRenderStats = renderCounts;
    notifyApiMismatch(model);
    // Reads the `notifyAlerts` setting at each alert: applies live.
    new AlertNotifier({ model });
    if (registry) {
      // Not awaited: activation stays light; the model starts with defaults.
      registry
        .load(PluginIDs.model)
        .then(settings => {
          let pushed = '';
          const apply = (): void => {
            model.configure(settings.composite as unknown as Partial<IVigiloSettings>);
            // Only what the user set goes to the sidecar (its own files keep the rest).
            const sidecar = (settings.user as { sidecar?: ISidecarSettings }).sidecar ?? {};
            const json = JSON.stringify(sidecar);
            if (json === pushed || json === '{}') {
              return;
            }
            pushed = json;
            void model.applySidecarSettings(sidecar).then(refusals => {
              if (refusals.length > 0) {
                Notification.warning(`Vigilo: the sidecar refused some settings. ${refusals.join(' ')}`, { autoClose: false });
              }
            });
          };
          apply();
          settings.changed.connect(apply);
        })
        .catch(reason => console.error('vigilo: could not load settings', reason));
    }
    app.commands.addCommand(CommandIDs.startSidecar, {
      label: 'Vigilo: Start sidecar',
      caption: 'Launch the Vigilo sidecar on this Jupyter server (or attach to the running one).',
      execute: async () => {
        try {
          await model.startSidecar();
        } catch (error) {
          Notification.error(
            `Vigilo could not start its sidecar: ${error instanceof Error ? error.message : String(error)}`,
            { autoClose: false }
          );
        }
      }
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Vigilo: Reconnect now',
      execute: () => model.refresh()
    });
    return model;
  }
};

/** The left-sidebar panel and the "Vigilo: Open panel" command. */
const panelPlugin: JupyterFrontEndPlugin<void> = {
  id: PluginIDs.panel,
  description: 'The Vigilo sidebar panel.',
  autoStart: true,
  requires: [IVigiloModel],
  optional: [ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    model: IVigiloModel,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ): void => {
    const panel = new VigiloPanel({ model, onStart: () => void app.commands.execute(CommandIDs.startSidecar) });
    app.shell.add(panel, 'left', { rank: 900 });
    restorer?.add(panel, PANEL_ID);
    app.commands.addCommand(CommandIDs.openPanel, {
      label: 'Vigilo: Open panel',
      caption: 'Show the Vigilo runtime monitor in the left sidebar.',
      icon: vigiloIcon,
      execute: () => app.shell.activateById(PANEL_ID)
    });
    palette?.addItem({ command: CommandIDs.openPanel, category: 'Vigilo' });
    palette?.addItem({ command: CommandIDs.startSidecar, category: 'Vigilo' });
    palette?.addItem({ command: CommandIDs.refresh, category: 'Vigilo' });
  }
};

/** The compact status-bar summary. */
const statusBarPlugin: JupyterFrontEndPlugin<void> = {
  id: PluginIDs.statusBar,
  description: 'A compact Vigilo summary in the status bar.',
  autoStart: true,
  requires: [IVigiloModel],
  optional: [IStatusBar],
  activate: (app: JupyterFrontEnd, model: IVigiloModel, statusBar: IStatusBar | null): void => {
    if (!statusBar) {
      return;
    }
    const item = new VigiloStatusItem({ model, onClick: () => void app.commands.execute(CommandIDs.openPanel) });
    // Today's spend is part of the line: the LLM figures are needed even while the panel is closed.
    if (model.settings.statusBar.spend) {
      model.wantLlm();
    }
    model.settingsChanged.connect((_, settings) => settings.statusBar.spend && model.wantLlm());
    const visibilityChanged = new Signal<IVigiloModel, void>(model);
    model.settingsChanged.connect(() => visibilityChanged.emit());
    statusBar.registerStatusItem(PluginIDs.statusBar, {
      item,
      align: 'left',
      rank: 900,
      isActive: () => model.settings.showStatusBar,
      activeStateChanged: visibilityChanged
    });
  }
};

/** Reports keyboard and code-execution activity to the sidecar (idle countdown). */
const activityPlugin: JupyterFrontEndPlugin<void> = {
  id: PluginIDs.activity,
  description: "Tells the Vigilo sidecar when the user is active, for the runtime's idle countdown.",
  autoStart: true,
  requires: [IVigiloModel],
  activate: (app: JupyterFrontEnd, model: IVigiloModel): void => {
    const reporter = new ActivityReporter();
    reporter.enabled = model.settings.reportActivity;
    model.settingsChanged.connect((_, settings) => (reporter.enabled = settings.reportActivity));
    app.commands.commandExecuted.connect((_, args) => {
      if (isExecutionCommand(args.id)) {
        reporter.notify();
      }
    });
    document.addEventListener('keydown', () => reporter.notify(), { capture: true, passive: true });
  }
};

export default [modelPlugin, panelPlugin, statusBarPlugin, activityPlugin];
