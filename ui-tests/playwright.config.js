/**
 * Playwright configuration: Galata's defaults, a JupyterLab from the
 * project's .venv on 127.0.0.1 with Vigilo installed (scripts/setup.sh installs
 * it in develop mode), and Debian's Chromium (never a downloaded browser).
 */
const path = require('path');
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');
const env = require('./vigilo-env');

const jupyter = path.join(env.root, '.venv', 'bin', 'jupyter');

module.exports = {
  ...baseConfig,
  // The panel bench (ui-tests/bench) runs only with playwright.bench.config.js.
  testDir: './tests',
  // One JupyterLab and one sidecar are shared: run the tests one after another.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 120_000,
  reporter: [['list'], ['html', { open: 'never' }]],
  globalSetup: require.resolve('./global-setup.js'),
  globalTeardown: require.resolve('./global-teardown.js'),
  use: {
    ...baseConfig.use,
    baseURL: `http://127.0.0.1:${env.port}`,
    // Video needs Playwright's own ffmpeg download: off.
    video: 'off',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: env.chromium,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update'
      ]
    }
  },
  webServer: {
    command: `${jupyter} lab --config ${path.join(__dirname, 'jupyter_server_test_config.py')}`,
    cwd: __dirname,
    url: `http://127.0.0.1:${env.port}/lab`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: 'ignore',
    stderr: 'pipe',
    env: {
      ...process.env,
      VIGILO_DATA_DIR: env.dataDir,
      VIGILO_UI_PORT: String(env.port),
      JUPYTERLAB_GALATA_ROOT_DIR: env.notebookDir,
      PATH: `${path.join(env.root, '.venv', 'bin')}:${process.env.PATH}`
    }
  }
};
