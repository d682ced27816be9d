//! Integration tests: the client against real HTTP servers on 127.0.0.1 ephemeral ports.

mod corpus;
mod finalized;
mod hostile;
mod redaction;
mod server;
mod user;
