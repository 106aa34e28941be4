"""Corpus preparation: each module has `prepare(src_dir, out_dir) -> list of manifest paths`."""

from asr.corpora import fsdd, speechocean762

CORPORA = {
    "fsdd": fsdd.prepare,
    "speechocean762": speechocean762.prepare,
}
