import { lezhiProtocol } from '../lib/vendors/lezhi';
import type { NodeRedApi } from './node-red';
import { registerReceiver } from './receiver-node';

export = (RED: NodeRedApi): void => registerReceiver(RED, 'lezhi-in', lezhiProtocol);
