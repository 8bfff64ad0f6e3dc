use super::*;
use crate::rng::Rng;

/// A pydantic v2 `model_json_schema()` with a nested model, an optional field and an enum.
const PERSON: &str = r##"{"$defs": {"Address": {"properties": {"city": {"title": "City", "type": "string"}, "zip": {"title": "Zip", "type": "string", "pattern": "^[0-9]{5}$"}}, "required": ["city", "zip"], "title": "Address", "type": "object"}}, "properties": {"name": {"description": "The full name", "title": "Name", "type": "string"}, "age": {"minimum": 0, "title": "Age", "type": "integer"}, "email": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": null, "title": "Email"}, "tags": {"items": {"type": "string"}, "title": "Tags", "type": "array"}, "kind": {"enum": ["friend", "colleague"], "title": "Kind", "type": "string"}, "address": {"$ref": "#/$defs/Address"}}, "required": ["name", "age", "tags", "kind", "address"], "title": "Person", "type": "object"}"##;

/// LangChain's `PydanticOutputParser.get_format_instructions()` (langchain_core's
/// `_PYDANTIC_FORMAT_INSTRUCTIONS`), filled with `schema` (which LangChain dumps without the
/// top-level `title` and `type`).
fn langchain(schema: &str) -> String {
    let template = "The output should be formatted as a JSON instance that conforms to the JSON schema below.\n\nAs an example, for the schema {\"properties\": {\"foo\": {\"title\": \"Foo\", \"description\": \"a list of strings\", \"type\": \"array\", \"items\": {\"type\": \"string\"}}}, \"required\": [\"foo\"]}\nthe object {\"foo\": [\"bar\", \"baz\"]} is a well-formatted instance of the schema. The object {\"properties\": {\"foo\": [\"bar\", \"baz\"]}} is not well-formatted.\n\nHere is the output schema:\n```\n{schema}\n```";
    template.replace("{schema}", schema)
}

/// LangChain's `JsonOutputParser(pydantic_object=...).get_format_instructions()` (langchain_core
/// 1.x's `JSON_FORMAT_INSTRUCTIONS`), filled with `schema`.
fn langchain_json(schema: &str) -> String {
    let template = "STRICT OUTPUT FORMAT:\n- Return only the JSON value that conforms to the schema. Do not include any additional text, explanations, headings, or separators.\n- Do not wrap the JSON in Markdown or code fences (no ``` or ```json).\n- Do not prepend or append any text (e.g., do not write \"Here is the JSON:\").\n- The response must be a single top-level JSON value exactly as required by the schema (object/array/etc.), with no trailing commas or comments.\n\nThe output should be formatted as a JSON instance that conforms to the JSON schema below.\n\nAs an example, for the schema {\"properties\": {\"foo\": {\"title\": \"Foo\", \"description\": \"a list of strings\", \"type\": \"array\", \"items\": {\"type\": \"string\"}}}, \"required\": [\"foo\"]} the object {\"foo\": [\"bar\", \"baz\"]} is a well-formatted instance of the schema. The object {\"properties\": {\"foo\": [\"bar\", \"baz\"]}} is not well-formatted.\n\nHere is the output schema (shown in a code block for readability only \u{2014} do not include any backticks or Markdown in your output):\n```\n{schema}\n```";
    template.replace("{schema}", schema)
}

/// instructor's `Mode.JSON` system message, filled with `schema` (`json.dumps(..., indent=2)`).
fn instructor(schema: &Value) -> String {
    format!(
        "\n        As a genius expert, your task is to understand the content and provide\n        the parsed objects in json that match the following json_schema:\n\n\n        {}\n\n        Make sure to return an instance of the JSON, not the schema itself\n",
        serde_json::to_string_pretty(schema).unwrap()
    )
}

fn schema_of(texts: &[&str]) -> Option<Value> {
    find(texts).map(|f| match &*f {
        Format::JsonSchema(s) => s.clone(),
        _ => panic!("not a schema"),
    })
}

/// The values generated from what `texts` hold.
fn answers(texts: &[&str]) -> Vec<Value> {
    let format = find(texts).expect("a schema");
    (0..20).map(|seed| serde_json::from_str(&format.render(&mut Rng::new(seed)).unwrap()).unwrap()).collect()
}

fn assert_person(v: &Value) {
    assert!(v["name"].is_string() && v["age"].as_i64().is_some_and(|a| a >= 0), "{v}");
    assert!(v["tags"].is_array() && ["friend", "colleague"].contains(&v["kind"].as_str().unwrap()), "{v}");
    assert!(v["address"]["city"].is_string() && v["address"]["zip"].as_str().unwrap().len() == 5, "{v}");
    assert!(v.get("email").is_none_or(|e| e.is_null() || e.is_string()), "{v}");
    for key in v.as_object().unwrap().keys() {
        assert!(["name", "age", "email", "tags", "kind", "address"].contains(&key.as_str()), "{v}");
    }
}

#[test]
fn a_fenced_schema_is_followed() {
    let prompt = format!("Reply in JSON.\n```json\n{PERSON}\n```\nThanks!");
    assert_eq!(schema_of(&[&prompt]).unwrap(), serde_json::from_str::<Value>(PERSON).unwrap());
    answers(&[&prompt]).iter().for_each(assert_person);
}

#[test]
fn a_bare_schema_is_followed() {
    let prompt = format!("Use this schema: {PERSON}. Only JSON, please.");
    answers(&[&prompt]).iter().for_each(assert_person);
}

#[test]
fn langchains_format_instructions_are_followed_not_their_example() {
    // LangChain drops the top-level `title` and `type`.
    let mut reduced: Value = serde_json::from_str(PERSON).unwrap();
    reduced.as_object_mut().unwrap().remove("title");
    reduced.as_object_mut().unwrap().remove("type");
    let instructions = langchain(&reduced.to_string());
    let found = schema_of(&["You extract people.", &instructions, "Jane, 31, from Paris."]).unwrap();
    assert_eq!(found, reduced);
    answers(&[&instructions]).iter().for_each(assert_person);
    let instructions = langchain_json(PERSON);
    assert_eq!(schema_of(&[&instructions, "Jane"]).unwrap()["title"], "Person");
}

#[test]
fn instructors_json_mode_prompt_is_followed() {
    let system = instructor(&serde_json::from_str(PERSON).unwrap());
    answers(&[&system, "Extract Jason is 25 years old"]).iter().for_each(assert_person);
}

#[test]
fn a_prompt_without_json_finds_nothing() {
    assert!(find(&[]).is_none());
    assert!(find(&["You are helpful.", "Give me a {name} and a {city} as JSON.", "} stray {"]).is_none());
    assert!(find(&["{}", "{ }", "{\"\"}"]).is_none());
}

#[test]
fn malformed_json_is_skipped() {
    let broken = PERSON.replacen("\"age\": {", "\"age\": {,", 1);
    assert!(find(&[&broken]).is_none());
    // A broken candidate after a good schema does not hide it.
    answers(&[PERSON, &format!("also {broken}")]).iter().for_each(assert_person);
    // An unmatched `{` and a stray quote in prose before the schema.
    let prose = format!("Use the template {{ as you \"like.\nSchema:\n{PERSON}\nend");
    answers(&[&prose]).iter().for_each(assert_person);
}

#[test]
fn the_last_schema_wins_and_schemas_beat_examples() {
    let a = r#"{"properties": {"a": {"type": "integer"}}, "required": ["a"]}"#;
    let b = r#"{"type": "object", "properties": {"b": {"type": "boolean"}}, "required": ["b"]}"#;
    let example = r#"{"answer": "yes", "score": 0.5}"#;
    assert!(schema_of(&[a, b]).unwrap()["properties"]["b"].is_object());
    assert!(schema_of(&[&format!("{b} then {a}")]).unwrap()["properties"]["a"].is_object());
    // a user message's example does not replace the system prompt's schema
    assert!(schema_of(&[a, example]).unwrap()["properties"]["a"].is_object());
    // a refused later schema falls back to any object, never to an earlier schema
    let refused = r#"{"properties": {"x": {"type": "wat"}}}"#;
    assert!(find(&[a, refused]).is_none());
    // a `$ref` root into `$defs` (pydantic's self-referencing models)
    let node = r##"{"$defs": {"Node": {"type": "object", "properties": {"v": {"type": "integer"},
        "next": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]}}, "required": ["v", "next"]}},
        "$ref": "#/$defs/Node"}"##;
    for v in answers(&[node]) {
        assert!(v["v"].is_i64() && v.get("next").is_some(), "{v}");
    }
    // not schemas: `properties` that are not subschemas, another root type, a `$ref` to nowhere
    for not in [
        r#"{"properties": {"foo": ["bar", "baz"]}}"#,
        r#"{"type": "array", "properties": {"a": {}}}"#,
        r##"{"$ref": "#/$defs/X", "$defs": {}}"##,
    ] {
        let found = schema_of(&[not]).unwrap();
        assert!(
            found["properties"].is_object() && found["required"].is_array(),
            "{not}: taken as an example"
        );
        assert_ne!(found.to_string(), not);
    }
}

#[test]
fn an_example_is_followed_when_there_is_no_schema() {
    let prompt = r#"Answer as {"answer": "...", "confidence": 0.9, "sources": [{"url": "...", "page": 3}], "final": true}"#;
    for v in answers(&[prompt]) {
        assert!(v["answer"].is_string() && v["confidence"].is_number() && v["final"].is_boolean(), "{v}");
        assert!(v["sources"].as_array().unwrap().iter().all(|s| s["url"].is_string() && s["page"].is_i64()));
    }
}

#[test]
fn huge_and_deep_objects_are_skipped_cheaply() {
    // Deeper than any parser takes (and than MAX_NESTING): skipped, and a schema after it found.
    let deep = format!("{}{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
    assert!(find(&[&deep]).is_none());
    let unclosed = "{\"a\": ".repeat(100_000);
    answers(&[&unclosed, PERSON]).iter().for_each(assert_person);
    answers(&[&format!("{unclosed}{PERSON}")]).iter().for_each(assert_person);
    // Over MAX_CANDIDATE_BYTES: not read.
    let big: Map<String, Value> =
        (0..20_000).map(|i| (format!("p{i}"), json!({"type": "string", "description": "x"}))).collect();
    let big = json!({"type": "object", "properties": big}).to_string();
    assert!(big.len() > MAX_CANDIDATE_BYTES);
    assert!(find(&[&big]).is_none());
    // Many candidates: only the last MAX_KEPT of a message are kept, MAX_PARSED parsed.
    let many = format!("{PERSON} {}", "{\"x\": 1} ".repeat(10_000));
    assert!(schema_of(&[&many]).unwrap()["properties"]["x"].is_object(), "the last example");
    let junk = "{\"properties\": {\"q\": [}} ".repeat(MAX_PARSED + 1);
    assert!(find(&[PERSON, &junk]).is_none(), "the parse budget ends the search");
    let t = std::time::Instant::now();
    for _ in 0..10 {
        find(&[&deep, &unclosed, &big, &many, &junk]);
    }
    assert!(t.elapsed().as_secs_f64() < 5.0, "{:?}", t.elapsed());
}

#[test]
fn scanning_finds_objects_with_strings_braces_and_escapes() {
    let text = r#"a {b} {"k": "}{\"", "n": {"m": 1}} tail {"z": "\\"} {"x"#;
    let spans: Vec<&str> = candidates(text).into_iter().map(|r| &text[r]).collect();
    assert_eq!(spans, [r#"{"k": "}{\"", "n": {"m": 1}}"#, r#"{"z": "\\"}"#]);
    // a stray quote in prose ends at the line's end
    let text = "say \"hi {\n{\"a\": 1}";
    let spans: Vec<&str> = candidates(text).into_iter().map(|r| &text[r]).collect();
    assert_eq!(spans, ["{\"a\": 1}"]);
    // a backslash as the last byte
    assert!(candidates("{\"a\\").is_empty());
}

/// The cost of a JSON-mode request's scan: run with `cargo test --release -- --ignored --nocapture`.
#[test]
#[ignore]
fn cost_of_a_2kb_prompt() {
    let mut reduced: Value = serde_json::from_str(PERSON).unwrap();
    reduced.as_object_mut().unwrap().remove("title");
    let prose = "You are a careful assistant that extracts people from text. ".repeat(14);
    let system = format!("{prose}\n{}", langchain(&reduced.to_string()));
    let user = "Jane Doe is 31, lives at 1 Rue de Rivoli, Paris 75001, and works with me.";
    println!("prompt bytes: {}", system.len() + user.len());
    let plain = [prose.as_str(), user];
    for (name, texts) in [("schema", [system.as_str(), user]), ("no json", plain)] {
        let n = 100_000;
        let t = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(find(std::hint::black_box(&texts)));
        }
        println!("{name}: find {:.2} us", t.elapsed().as_secs_f64() * 1e6 / f64::from(n));
    }
    let format = find(&[&system, user]).unwrap();
    let t = std::time::Instant::now();
    for seed in 0..100_000 {
        std::hint::black_box(format.render(&mut Rng::new(seed)));
    }
    println!("generate: {:.2} us", t.elapsed().as_secs_f64() * 1e6 / 1e5);
}
