//! (policy side, being written)
