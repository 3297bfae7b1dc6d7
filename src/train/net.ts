/** What the training loop needs of a network: named parameters and buffers, and a forward pass on a tape. */
import type { Param } from '../autograd/param.js';
import type { Tape } from '../autograd/tape.js';
import type { Tensor } from '../tensor/tensor.js';

export interface TrainableNet {
  /** the architecture's name, stored in checkpoints (a checkpoint of another one is refused) */
  readonly arch: string;
  /** parameters and buffers, with unique names */
  readonly params: Param[];
  /** logits [batch, classes] for images [batch, C, H, W]; `train` selects training behaviour (dropout, batch statistics) */
  forward(t: Tape, x: Tensor, train: boolean): Tensor;
}
