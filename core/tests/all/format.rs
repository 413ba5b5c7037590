use codegym_core::ActionFormat;
use expect_test::expect;

#[test]
fn names_round_trip_through_from_str_and_serde() {
    for format in ActionFormat::ALL {
        assert_eq!(format.as_str().parse::<ActionFormat>(), Ok(format));
        assert_eq!(format.to_string(), format.as_str());
        let json = serde_json::to_string(&format).unwrap();
        assert_eq!(json, format!("\"{}\"", format.as_str()));
        assert_eq!(serde_json::from_str::<ActionFormat>(&json).unwrap(), format);
    }
    assert_eq!("Hermes".parse::<ActionFormat>(), Ok(ActionFormat::Hermes));
    assert_eq!(ActionFormat::default(), ActionFormat::CodeGym);
}

#[test]
fn unknown_name_lists_valid_names() {
    let err = "qwen".parse::<ActionFormat>().unwrap_err();
    expect![[r#"unknown action format "qwen"; expected one of: codegym, hermes, openai-tools"#]]
        .assert_eq(&err.to_string());
}
