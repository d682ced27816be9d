//! Integration tests of the canonical crate: fold scenarios, properties, the differential
//! oracles (libsecp256k1 against k256, the SSZ codec against `ssz_rs`) and the fuzz corpus.

mod corpus;
mod fold;
mod fold_input;
mod parallel;
mod props;
mod recover_oracle;
mod recovery;
mod ssz_oracle;
mod ssz_parity;
mod support;
