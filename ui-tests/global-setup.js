// Start the sidecar the tests look at, in the run's own VIGILO_DATA_DIR.
const { startSidecar } = require('./sidecar');

module.exports = async () => {
  const d = await startSidecar();
  console.log(`vigilo ui-tests: sidecar pid ${d.pid} at ${d.url}`);
};
