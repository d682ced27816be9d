//! The canonical Cartesi wallet rollup.
