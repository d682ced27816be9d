#![no_main]
//! One `eth_getLogs` answer through the streaming reader, its body cut into pieces: the
//! outcome is a typed error or the inputs, never a panic, and it is the same as reading the
//! body in one piece.
//!
//! Input: two bytes giving the piece size (little-endian, modulo 512, plus 1), then the body.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((piece, body)) = data.split_first_chunk::<2>() else {
        return;
    };
    let piece = usize::from(u16::from_le_bytes(*piece)) % 512 + 1;
    let read = |chunks: Vec<&[u8]>| {
        l1::read_logs_response(
            chunks,
            [0x11; 20].into(),
            [0x22; 20].into(),
            l1::BlockRange::new(0, u64::MAX).unwrap(),
            0,
            31337,
        )
        .map_err(|e| e.to_string())
    };
    let whole = read(vec![body]);
    let cut = read(body.chunks(piece).collect());
    assert_eq!(whole, cut);
});
