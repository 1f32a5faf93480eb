// The panel bench (ui-tests/bench): the UI tests' set-up, its own test folder.
const config = require('./playwright.config');

module.exports = { ...config, testDir: './bench', reporter: [['list']] };
