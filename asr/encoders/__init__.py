"""Encoder registry: config name -> class.

Every encoder takes `(input_dim, ModelConfig)`, has `output_dim` and `causal`, and
implements `forward(x, x_lens) -> (y, y_lens)` on (B, T, C) tensors. Causal encoders also
implement `init_state(batch)` and `step(chunk, state) -> (y, new_state)`.
Adding an encoder is one new file plus one line here.
"""

from asr.encoders.blstm import BLSTMEncoder
from asr.encoders.gru import GRUEncoder
from asr.encoders.mamba import MambaEncoder

ENCODERS = {
    "blstm": BLSTMEncoder,
    "gru": GRUEncoder,
    "mamba": MambaEncoder,
}
