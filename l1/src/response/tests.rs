use super::*;

/// Reads `body` cut after each of `cuts` (byte offsets); the elements handed out and the
/// envelope, or the error.
fn read(body: &[u8], cuts: &[usize]) -> Result<(Vec<String>, Envelope), String> {
    let mut reader = ResponseReader::new();
    let mut elements = Vec::new();
    let mut handle = |json: &[u8], seq: usize| -> Result<(), String> {
        assert_eq!(seq, elements.len());
        elements.push(String::from_utf8(json.to_vec()).map_err(|e| e.to_string())?);
        Ok(())
    };
    let mut start = 0;
    for &cut in cuts.iter().chain([&body.len()]) {
        let cut = cut.clamp(start, body.len());
        match reader.feed(&body[start..cut], &mut handle) {
            Ok(()) => {}
            Err(Fed::Malformed(m)) => return Err(m.to_string()),
            Err(Fed::Element(e)) => return Err(e),
        }
        start = cut;
    }
    let envelope = reader.finish().map_err(|m| m.to_string())?;
    Ok((elements, envelope))
}

fn whole(body: &str) -> Result<(Vec<String>, Envelope), String> {
    read(body.as_bytes(), &[])
}

#[test]
fn elements_are_handed_out_one_by_one_whatever_the_member_order() {
    let body = r#" { "result" : [ {"a":"]}\"["} , [1,{"b":[]}],"x\\",2 , -1.5e3 , null ] ,"jsonrpc":"2.0","id":7}  "#;
    let (elements, envelope) = whole(body).unwrap();
    assert_eq!(
        elements,
        [
            r#"{"a":"]}\"["}"#,
            r#"[1,{"b":[]}]"#,
            r#""x\\""#,
            "2",
            "-1.5e3",
            "null"
        ]
    );
    assert_eq!(envelope.id, Id::Number(7));
    assert!(envelope.error.is_none());
    // Every cut gives the same.
    for cut in 0..body.len() {
        let (again, _) = read(body.as_bytes(), &[cut]).unwrap();
        assert_eq!(again, elements, "cut at {cut}");
    }
}

#[test]
fn an_error_object_is_read_whole_with_its_data() {
    let body = r#"{"jsonrpc":"2.0","error":{"code":-32005,"message":"query returned more than 10000 results","data":{"from":"0x1"}},"id":"a"}"#;
    let (elements, envelope) = whole(body).unwrap();
    assert!(elements.is_empty());
    let error = envelope.error.unwrap();
    assert_eq!(error.code, -32005);
    assert_eq!(error.message, "query returned more than 10000 results");
    assert_eq!(error.data.unwrap().get(), r#"{"from":"0x1"}"#);
    assert_eq!(envelope.id, Id::String("a".into()));
}

#[test]
fn a_missing_id_is_none_and_escaped_keys_count() {
    let (elements, envelope) = whole(r#"{"res\u0075lt":[]}"#).unwrap();
    assert!(elements.is_empty());
    assert_eq!(envelope.id, Id::None);
}

#[test]
fn malformed_framing_and_envelopes_are_refused() {
    for body in [
        "",
        "   ",
        "[]",
        "null",
        r#"{"result":[]"#,
        r#"{"result":[] "id":1}"#,
        r#"{"result":[1 2]}"#,
        r#"{"result":[1,]}"#,
        r#"{"result":[,1]}"#,
        r#"{"result":[]}x"#,
        r#"{"result":[]}{}"#,
        r#"{"result" []}"#,
        r#"{result:[]}"#,
        r#"{"result":[],}"#,
        r#"{,"result":[]}"#,
        r#"{"result":[],"result":[]}"#,
        r#"{"id":1,"id":2,"result":[]}"#,
        r#"{"result":[],"error":{"code":1,"message":"m"}}"#,
        r#"{"id":1}"#,
        r#"{}"#,
        r#"{"result":null}"#,
        r#"{"result":{}}"#,
        r#"{"result":"0x"}"#,
        r#"{"result":[],"other":tru}"#,
        r#"{"result":[],"other":{]}"#,
        r#"{"error":"nope"}"#,
        r#"{"id":[],"result":[]}"#,
    ] {
        assert!(whole(body).is_err(), "{body:?} was accepted");
    }
}

#[test]
fn an_element_refused_by_the_handler_stops_the_read() {
    let mut reader = ResponseReader::new();
    let mut seen = 0;
    let err = reader
        .feed(br#"{"result":[1,2,3]}"#, &mut |_: &[u8], seq| {
            seen += 1;
            if seq == 1 { Err("no") } else { Ok(()) }
        })
        .unwrap_err();
    assert!(matches!(err, Fed::Element("no")));
    assert_eq!(seen, 2);
}

proptest::proptest! {
    /// Whatever the bytes and however they are cut, the reader returns a value, and the cuts do
    /// not change it.
    #[test]
    fn arbitrary_bytes_and_cuts_agree(
        body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        cuts in proptest::collection::vec(0usize..200, 0..6),
    ) {
        let mut cuts = cuts;
        cuts.sort_unstable();
        let once = read(&body, &[]).map(|(e, env)| (e, env.id, env.error.map(|e| e.code)));
        let cut = read(&body, &cuts).map(|(e, env)| (e, env.id, env.error.map(|e| e.code)));
        proptest::prop_assert_eq!(once, cut);
    }

    /// A response built from JSON values is read back as those values, however it is cut.
    #[test]
    fn json_responses_are_read_back(
        values in proptest::collection::vec(json_value(), 0..8),
        id in proptest::prelude::any::<u32>(),
        result_first in proptest::prelude::any::<bool>(),
        cuts in proptest::collection::vec(0usize..400, 0..8),
    ) {
        let result = serde_json::to_string(&values).unwrap();
        let body = if result_first {
            format!(r#"{{"result":{result},"jsonrpc":"2.0","id":{id}}}"#)
        } else {
            format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{result}}}"#)
        };
        let mut cuts = cuts;
        cuts.sort_unstable();
        let (elements, envelope) = read(body.as_bytes(), &cuts).unwrap();
        let parsed: Vec<serde_json::Value> =
            elements.iter().map(|e| serde_json::from_str(e).unwrap()).collect();
        proptest::prop_assert_eq!(parsed, values);
        proptest::prop_assert_eq!(envelope.id, Id::Number(id.into()));
    }
}

/// Nested JSON with strings full of the characters the framing looks at.
fn json_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[\\[\\]{}\",:\\\\ a-z0-9\u{e9}]{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map("[a-z\"\\]]{0,4}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}
