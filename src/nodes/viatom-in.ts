import { viatomProtocol } from '../lib/vendors/viatom';
import type { NodeRedApi } from './node-red';
import { registerReceiver } from './receiver-node';

export = (RED: NodeRedApi): void => registerReceiver(RED, 'viatom-in', viatomProtocol);
