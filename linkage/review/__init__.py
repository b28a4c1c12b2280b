"""Clerical review: the queue of uncertain pairs and the governed decisions people make on them."""
