import { sinocareProtocol } from '../lib/vendors/sinocare';
import type { NodeRedApi } from './node-red';
import { registerReceiver } from './receiver-node';

export = (RED: NodeRedApi): void => registerReceiver(RED, 'sinocare-in', sinocareProtocol);
