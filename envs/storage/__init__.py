"""Storage on disk: atomic writes and SHA-256-verified reads of caches, checkpoints and reports
(``files``), and the cache of a dataset's saliency maps (``saliency_cache``)."""
