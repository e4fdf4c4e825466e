"""Message templates at rest: immutable versions, and the in-process cache of them."""
