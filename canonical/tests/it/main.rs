//! Integration tests of the canonical crate: fold scenarios, properties and the fuzz corpus.

mod corpus;
mod fold;
mod parallel;
mod props;
mod recovery;
mod support;
