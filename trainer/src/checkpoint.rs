//! (training side, being written)
