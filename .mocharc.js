// The Node-RED test files of `npm test` (scripts/test.mjs runs them on Node-RED 4 and on Node-RED 5;
// the browser suite has test/e2e/.mocharc.json). A file named on the command line runs alone
// (`npx mocha build/test/unit/at-rest.test.js`), instead of being added to the whole suite.
'use strict';
const named = process.argv.slice(2).some((arg) => /\.(test|e2e)\.js$/.test(arg));
module.exports = {
  ...(named ? {} : { spec: ['build/test/**/*.test.js'] }),
  timeout: 30000,
  reporter: 'spec',
};
