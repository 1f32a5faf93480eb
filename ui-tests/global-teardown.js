// Stop whichever sidecar is running for the run's data dir (the one set-up
// started, or one the tests started through the panel), then clean up.
const fs = require('fs');
const env = require('./vigilo-env');
const { stopSidecar } = require('./sidecar');

module.exports = async () => {
  await stopSidecar('SIGTERM');
  if (!process.env.VIGILO_UI_KEEP_TMP) {
    fs.rmSync(env.tmp, { recursive: true, force: true });
  }
};
