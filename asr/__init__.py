"""asr: a small streaming recurrent speech recognizer (log-mel -> conv -> RNN -> CTC)."""

__version__ = "0.1.0"
