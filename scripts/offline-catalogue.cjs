// Preload for node-red-dev: the public catalogue (catalogue.nodered.org) is not reachable here, so
// its two checks (P08 similar package names, N01 node type names unique in the catalogue) get an
// empty catalogue and are reported as skipped, not passed.
const Module = require('module');
const load = Module._load;
Module._load = function (request, parent, isMain) {
  const exported = load.apply(this, arguments);
  if (request === 'axios' && !exported.__offlineCatalogue) {
    const get = exported.get.bind(exported);
    exported.get = (url, ...rest) => {
      if (String(url).startsWith('https://catalogue.nodered.org/')) {
        console.log(`   (skipped: ${url} is not reachable; P08 and N01 are not checked)`);
        return Promise.resolve({ data: { modules: [] } });
      }
      return get(url, ...rest);
    };
    exported.__offlineCatalogue = true;
  }
  return exported;
};
