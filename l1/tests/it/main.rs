//! Integration tests: the reader through alloy's mock transport behind the production retry and
//! budget layers, and the HTTP stack against a scripted server on 127.0.0.1.

mod application;
mod bisect;
mod checks;
mod corpus;
mod http;
mod queries;
mod support;
mod upstream;
