// Paths shared by playwright.config.js, the global set-up/tear-down and the
// tests. The temporary directory is created once by the main Playwright
// process and handed to workers through the environment.
const fs = require('fs');
const os = require('os');
const path = require('path');

if (!process.env.VIGILO_UI_TMP) {
  process.env.VIGILO_UI_TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'vigilo-ui-'));
}
const tmp = process.env.VIGILO_UI_TMP;
const env = {
  root: path.resolve(__dirname, '..'),
  tmp,
  dataDir: path.join(tmp, 'data'),
  notebookDir: path.join(tmp, 'notebooks'),
  port: Number(process.env.VIGILO_UI_PORT || 8899),
  chromium: process.env.VIGILO_CHROMIUM || '/usr/bin/chromium'
};
fs.mkdirSync(env.notebookDir, { recursive: true });
module.exports = env;
