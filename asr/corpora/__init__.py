"""Corpus preparation: each module has `prepare(src_dir, out_dir) -> list of manifest paths`."""

from asr.corpora import commonvoice, folder, fsdd, kaldi, librispeech, speechocean762

CORPORA = {
    "commonvoice": commonvoice.prepare,
    "folder": folder.prepare,
    "fsdd": fsdd.prepare,
    "kaldi": kaldi.prepare,
    "librispeech": librispeech.prepare,
    "speechocean762": speechocean762.prepare,
}
