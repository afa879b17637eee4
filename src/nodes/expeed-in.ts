import { expeedProtocol, type ExpeedAccountClient } from '../lib/vendors/expeed';
import { configClient } from './action';
import type { NodeRedApi } from './node-red';
import { registerReceiver } from './receiver-node';

/**
 * The Expeed (极动云) receiver: pushes on POST, the platform's URL check on GET. Its account gives
 * the handshake token and the push meaning of `device_status`, and hears the setting results so
 * that a waiting expeed-set completes. Without an account it still receives pushes, but refuses
 * the URL check (there is no token to check it with).
 */
export = (RED: NodeRedApi): void =>
  registerReceiver(RED, 'expeed-in', (config) => {
    const { client } = configClient<ExpeedAccountClient>(RED, config.account, 'expeed-account');
    return expeedProtocol({
      handshakeToken: client?.handshakeToken,
      onlineValue: client?.onlineValue ?? 0,
      onSettingResult: (result) => client?.api.settings.deliver(result),
    });
  });
