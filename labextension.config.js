// Extra rspack configuration for the labextension build (package.json
// "jupyterlab.webpackConfig"), merged into @jupyter/builder's own.
//
// The builder exposes the npm package's "main" as the federated module
// './index'. Here "main" is the Node LLM client library (dist/client), which
// has no place in the browser: point that request at the labextension's entry
// so no Node code is bundled. JupyterLab itself loads './extension'.
const path = require('path');

module.exports = {
  resolve: {
    alias: {
      [path.resolve(__dirname, 'dist/client/index.js')]: path.resolve(__dirname, 'lib/labextension/index.js')
    }
  }
};
