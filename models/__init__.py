"""Lazy loaders for the pretrained models. Nothing here loads a model at import time."""

from models.embedding import Embedder, HashingEmbedder, SentenceTransformerEmbedder, make_embedder
from models.nlp import load_spacy

__all__ = ["Embedder", "HashingEmbedder", "SentenceTransformerEmbedder", "load_spacy", "make_embedder"]
