//! The Qwen2 byte-level BPE tokenizer, loaded from a Hugging Face `tokenizer.json`.
//!
//! [`Tokenizer::encode`] gives the same ids as the Hugging Face `tokenizers` library's
//! `encode(text, add_special_tokens=False)` for the configurations the Qwen2 family ships. The
//! text goes through four stages, each configured by the JSON file:
//!
//! 1. **Added tokens** (`added_tokens`, special or not) whose `normalized` flag is false are cut
//!    out of the raw text: leftmost match first, the longest one where several start at the same
//!    place, honouring each entry's `single_word`, `lstrip` and `rstrip` flags.
//! 2. **Normalizer** (`NFC` or none) runs on the text between them; added tokens whose
//!    `normalized` flag is true are then cut out of the normalized text.
//! 3. **Pre-tokenizer**: each `Split` regex (behaviour `Isolated`) cuts the text into words, and
//!    `ByteLevel` spells each word's UTF-8 bytes in the GPT-2 byte alphabet.
//! 4. **BPE model**: each word starts as one symbol per byte and merges the adjacent pair with
//!    the lowest merge rank (leftmost first on ties) until no listed merge applies.
//!
//! Anything else a file asks for (other normalizers, pre-tokenizers or models, dropout, word
//! prefixes or suffixes, truncation, padding) is refused by [`Tokenizer::from_json`] with an
//! error naming the field, rather than silently giving different ids. The post-processor is read
//! but not applied: without special tokens it adds nothing to the ids.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use fancy_regex::Regex;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// Why a tokenizer could not be loaded, or why text or ids could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    /// The text is not JSON, or a part read by the JSON parser has the wrong shape; the message
    /// names the field where it can and gives the line and column.
    #[error("tokenizer JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A field is missing, has the wrong type, or contradicts another part of the file.
    #[error("tokenizer JSON: field `{field}`: {reason}")]
    Invalid {
        /// Path of the field at fault, such as `model.merges[12]`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A field asks for a feature this tokenizer does not implement.
    #[error("tokenizer JSON: field `{field}`: unsupported {found}; supported: {supported}")]
    Unsupported {
        /// Path of the field at fault, such as `pre_tokenizer.type`.
        field: String,
        /// The value found there.
        found: String,
        /// The values this tokenizer accepts there.
        supported: &'static str,
    },
    /// A pre-tokenizer pattern is not a valid regular expression.
    #[error("tokenizer JSON: field `{field}`: invalid regex: {source}")]
    Regex {
        /// Path of the pattern, such as `pre_tokenizer.pretokenizers[0].pattern.Regex`.
        field: String,
        /// The regex compiler's complaint.
        #[source]
        source: Box<fancy_regex::Error>,
    },
    /// Matching a regex against the input text failed; the backtracking matcher gives up on a
    /// single run of roughly a million characters of the same class.
    #[error("tokenizer: matching `{pattern}` against the input failed: {source}")]
    Match {
        /// The pattern that failed.
        pattern: String,
        /// The matcher's complaint.
        #[source]
        source: Box<fancy_regex::Error>,
    },
    /// [`Tokenizer::decode`] was given an id that is neither in the vocabulary nor an added token.
    #[error("tokenizer: token id {id} is neither in the vocabulary nor an added token")]
    UnknownId {
        /// The id at fault.
        id: u32,
    },
}

/// A byte-level BPE tokenizer read from a Hugging Face `tokenizer.json` (see the module docs for
/// the exact pipeline).
pub struct Tokenizer {
    /// Added tokens matched in the raw text (`normalized: false`).
    raw_added: AddedTokenMatcher,
    /// Added tokens matched in the normalized text (`normalized: true`), contents normalized.
    normalized_added: AddedTokenMatcher,
    /// Content to id, for every added token.
    added_ids: HashMap<String, u32>,
    /// Id to content, for every added token.
    added_contents: HashMap<u32, String>,
    /// Whether the normalizer is NFC (otherwise there is none).
    nfc: bool,
    /// The pre-tokenizer's `Split` patterns, applied in order.
    splits: Vec<Regex>,
    /// The BPE model over the byte-level alphabet.
    bpe: Bpe,
}

impl fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokenizer")
            .field("vocab", &self.bpe.vocab.len())
            .field("merges", &self.bpe.merges.len())
            .field("added_tokens", &self.added_ids.len())
            .field("nfc", &self.nfc)
            .field("splits", &self.splits.iter().map(Regex::as_str).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Tokenizer {
    /// Loads a tokenizer from the text of a Hugging Face `tokenizer.json`.
    ///
    /// Refuses, with an error naming the field, files this tokenizer cannot reproduce exactly: a
    /// model other than `BPE` (or with dropout, a subword prefix or a word suffix), a normalizer
    /// other than `NFC`, a pre-tokenizer other than `Split` steps (`Isolated`, not inverted)
    /// followed by `ByteLevel` (no prefix space, no built-in regex), a decoder other than
    /// `ByteLevel`, truncation or padding, and a vocabulary missing one of the 256 byte symbols.
    pub fn from_json(text: &str) -> Result<Tokenizer, TokenizerError> {
        let raw: RawTokenizer = serde_json::from_str(text)?;
        match &raw.version {
            Value::Null => {}
            Value::String(version) if version == "1.0" => {}
            other => return Err(unsupported("version", other, "\"1.0\"")),
        }
        require_null(&raw.truncation, "truncation")?;
        require_null(&raw.padding, "padding")?;
        let nfc = parse_normalizer(&raw.normalizer)?;
        let splits = parse_pre_tokenizer(&raw.pre_tokenizer)?;
        check_decoder(&raw.decoder)?;
        let bpe = Bpe::from_raw(raw.model)?;
        let added = parse_added_tokens(&raw.added_tokens, &bpe)?;

        let mut raw_added = Vec::new();
        let mut normalized_added = Vec::new();
        let mut added_ids = HashMap::with_capacity_and_hasher(added.len(), Default::default());
        let mut added_contents = HashMap::with_capacity_and_hasher(added.len(), Default::default());
        for entry in added {
            added_ids.insert(entry.token.content.clone(), entry.token.id);
            added_contents.insert(entry.token.id, entry.token.content.clone());
            if entry.normalized {
                let mut token = entry.token;
                if nfc {
                    token.content = token.content.nfc().collect();
                }
                normalized_added.push(token);
            } else {
                raw_added.push(entry.token);
            }
        }
        Ok(Tokenizer {
            raw_added: AddedTokenMatcher::new(raw_added)?,
            normalized_added: AddedTokenMatcher::new(normalized_added)?,
            added_ids,
            added_contents,
            nfc,
            splits,
            bpe,
        })
    }

    /// Converts text to token ids, without adding any special tokens around it (the Hugging Face
    /// `add_special_tokens=False`); added tokens written in the text, such as `<|im_start|>`,
    /// become their ids.
    ///
    /// Fails only when the pre-tokenizer regex gives up on the input, which takes a single run of
    /// about a million letters, digits, spaces or symbols.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        let mut ids = Vec::new();
        for piece in self.raw_added.split(text)? {
            let raw = match piece {
                Piece::Added(id) => {
                    ids.push(id);
                    continue;
                }
                Piece::Text(raw) => raw,
            };
            let normalized = self.normalize(raw);
            for piece in self.normalized_added.split(&normalized)? {
                match piece {
                    Piece::Added(id) => ids.push(id),
                    Piece::Text(words) => self.encode_words(words, &mut ids)?,
                }
            }
        }
        Ok(ids)
    }

    /// Converts token ids back to text, for logs and debugging.
    ///
    /// Vocabulary tokens are mapped from the byte-level alphabet back to bytes, added tokens give
    /// their content; byte sequences that are not UTF-8 (ids cut in the middle of a character)
    /// become U+FFFD, as in Hugging Face's `ByteLevel` decoder. For text without added tokens,
    /// `decode(encode(text))` is the NFC form of `text`.
    pub fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        let mut bytes = Vec::new();
        for &id in ids {
            if let Some(content) = self.added_contents.get(&id) {
                bytes.extend_from_slice(content.as_bytes());
            } else if let Some(token) = self.bpe.tokens.get(&id) {
                self.bpe.push_token_bytes(token, &mut bytes);
            } else {
                return Err(TokenizerError::UnknownId { id });
            }
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The id of one token, looked up among the added tokens first and then in the vocabulary
    /// (whose entries are spelled in the byte-level alphabet, so a leading space is `Ġ`).
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.added_ids.get(token).or_else(|| self.bpe.vocab.get(token)).copied()
    }

    /// Applies the normalizer to text found between added tokens.
    fn normalize<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if self.nfc && is_nfc_quick(text.chars()) != IsNormalized::Yes {
            Cow::Owned(text.nfc().collect())
        } else {
            Cow::Borrowed(text)
        }
    }

    /// Pre-tokenizes normalized text into words and appends the BPE ids of each word.
    fn encode_words(&self, text: &str, ids: &mut Vec<u32>) -> Result<(), TokenizerError> {
        let mut words = vec![text];
        for regex in &self.splits {
            let mut finer = Vec::with_capacity(words.len());
            for word in words {
                split_isolated(regex, word, &mut finer)?;
            }
            words = finer;
        }
        for word in words {
            self.bpe.encode_word(word.as_bytes(), ids);
        }
        Ok(())
    }
}

/// Cuts `text` at every match of `regex`, keeping both the matches and the text between them
/// (the `Isolated` split behaviour).
fn split_isolated<'t>(
    regex: &Regex,
    text: &'t str,
    out: &mut Vec<&'t str>,
) -> Result<(), TokenizerError> {
    let mut last = 0;
    for found in regex.find_iter(text) {
        let found = found.map_err(|source| match_error(regex, source))?;
        out.extend(text.get(last..found.start()).filter(|gap| !gap.is_empty()));
        out.push(found.as_str());
        last = found.end();
    }
    out.extend(text.get(last..).filter(|rest| !rest.is_empty()));
    Ok(())
}

fn match_error(regex: &Regex, source: fancy_regex::Error) -> TokenizerError {
    TokenizerError::Match { pattern: regex.as_str().to_owned(), source: Box::new(source) }
}

// ---------------------------------------------------------------------------------------------
// Added tokens
// ---------------------------------------------------------------------------------------------

/// One entry of `added_tokens`, as the matcher needs it.
#[derive(Debug)]
struct AddedToken {
    /// The text to find (normalized, for tokens matched after normalization).
    content: String,
    /// The id it encodes to.
    id: u32,
    /// Match only where neither neighbour is a word character.
    single_word: bool,
    /// Swallow the whitespace on the left of a match.
    lstrip: bool,
    /// Swallow the whitespace on the right of a match.
    rstrip: bool,
}

/// A piece of text after cutting out added tokens.
#[derive(Debug)]
enum Piece<'t> {
    /// An added token, by id.
    Added(u32),
    /// Text between added tokens.
    Text(&'t str),
}

/// Finds added tokens in text, with Hugging Face's semantics: non-overlapping matches, leftmost
/// first, the longest (then the earliest listed) where several start at the same byte.
struct AddedTokenMatcher {
    /// The tokens, special ones first, each group in file order.
    tokens: Vec<AddedToken>,
    /// Which bytes start some token, to skip most positions quickly.
    first_bytes: [bool; 256],
    /// `\w` as the Hugging Face library's regex crate defines it; present when some token is
    /// `single_word`.
    word_char: Option<Regex>,
}

impl AddedTokenMatcher {
    fn new(tokens: Vec<AddedToken>) -> Result<Self, TokenizerError> {
        let mut first_bytes = [false; 256];
        for token in &tokens {
            if let Some(&first) = token.content.as_bytes().first() {
                first_bytes[usize::from(first)] = true;
            }
        }
        let word_char = if tokens.iter().any(|token| token.single_word) {
            Some(Regex::new(r"\A\w\z").map_err(|source| TokenizerError::Regex {
                field: "added_tokens[].single_word".to_owned(),
                source: Box::new(source),
            })?)
        } else {
            None
        };
        Ok(AddedTokenMatcher { tokens, first_bytes, word_char })
    }

    /// The next match starting at or after byte `from`: its start and its token.
    fn next_match(&self, text: &str, from: usize) -> Option<(usize, &AddedToken)> {
        let rest = text.as_bytes().get(from..)?;
        rest.iter().enumerate().find_map(|(offset, &byte)| {
            if !self.first_bytes[usize::from(byte)] {
                return None;
            }
            let here = rest.get(offset..)?;
            let mut best: Option<&AddedToken> = None;
            for token in &self.tokens {
                let longer = best.is_none_or(|b| token.content.len() > b.content.len());
                if longer && here.starts_with(token.content.as_bytes()) {
                    best = Some(token);
                }
            }
            best.map(|token| (from + offset, token))
        })
    }

    /// Whether `c` is a word character (`\w`).
    fn is_word_char(&self, c: char) -> Result<bool, TokenizerError> {
        match &self.word_char {
            Some(regex) => {
                regex.is_match(c.encode_utf8(&mut [0; 4])).map_err(|e| match_error(regex, e))
            }
            None => Ok(false),
        }
    }

    /// Cuts the added tokens out of `text`.
    fn split<'t>(&self, text: &'t str) -> Result<Vec<Piece<'t>>, TokenizerError> {
        let mut pieces = Vec::new();
        if self.tokens.is_empty() {
            if !text.is_empty() {
                pieces.push(Piece::Text(text));
            }
            return Ok(pieces);
        }
        // End of the text already handed out, and where the next search starts.
        let mut consumed = 0;
        let mut search_from = 0;
        while let Some((found_at, token)) = self.next_match(text, search_from) {
            let mut start = found_at;
            let mut stop = found_at + token.content.len();
            search_from = stop;
            let before = text.get(..start).unwrap_or_default();
            let after = text.get(stop..).unwrap_or_default();
            if token.single_word {
                let word_before = match before.chars().next_back() {
                    Some(c) => self.is_word_char(c)?,
                    None => false,
                };
                let word_after = match after.chars().next() {
                    Some(c) => self.is_word_char(c)?,
                    None => false,
                };
                if word_before || word_after {
                    continue;
                }
            }
            if token.lstrip {
                start = before.trim_end().len().max(consumed);
            }
            if token.rstrip {
                stop += after.len() - after.trim_start().len();
            }
            if consumed < start {
                pieces.extend(text.get(consumed..start).map(Piece::Text));
            }
            pieces.push(Piece::Added(token.id));
            consumed = stop;
        }
        if consumed < text.len() {
            pieces.extend(text.get(consumed..).map(Piece::Text));
        }
        Ok(pieces)
    }
}

// ---------------------------------------------------------------------------------------------
// BPE model
// ---------------------------------------------------------------------------------------------

/// What merging a pair of adjacent symbols gives.
#[derive(Debug, Clone, Copy)]
struct Merge {
    /// Position in `model.merges`: lower merges first.
    rank: u32,
    /// Id of the merged symbol.
    id: u32,
}

/// One symbol of a word being merged: a doubly linked list over a vector.
#[derive(Debug, Clone, Copy)]
struct Symbol {
    id: u32,
    prev: Option<usize>,
    next: Option<usize>,
    /// False once merged into its left neighbour.
    alive: bool,
}

/// The BPE model over the byte-level alphabet.
struct Bpe {
    /// Token (in the byte-level alphabet) to id.
    vocab: HashMap<String, u32>,
    /// Id to token.
    tokens: HashMap<u32, String>,
    /// The vocabulary id of each single byte.
    byte_ids: [u32; 256],
    /// The byte-level alphabet: the character standing for each byte.
    alphabet: [char; 256],
    /// Inverse of `alphabet`.
    alphabet_bytes: HashMap<char, u8>,
    /// Pair of adjacent ids to the merge that joins them.
    merges: HashMap<(u32, u32), Merge>,
    /// Whether a word found whole in the vocabulary skips merging.
    ignore_merges: bool,
}

impl Bpe {
    fn from_raw(raw: RawModel) -> Result<Bpe, TokenizerError> {
        match &raw.kind {
            Value::String(kind) if kind == "BPE" => {}
            other => return Err(unsupported("model.type", other, "\"BPE\"")),
        }
        require_null(&raw.dropout, "model.dropout")?;
        for (field, value) in [
            ("model.continuing_subword_prefix", &raw.continuing_subword_prefix),
            ("model.end_of_word_suffix", &raw.end_of_word_suffix),
        ] {
            match value {
                Value::Null => {}
                Value::String(s) if s.is_empty() => {}
                other => return Err(unsupported(field, other, "null or \"\"")),
            }
        }
        let ignore_merges = match &raw.ignore_merges {
            Value::Null => false,
            Value::Bool(flag) => *flag,
            _ => return Err(invalid("model.ignore_merges", "expected a boolean")),
        };

        let vocab = raw.vocab.0;
        let mut tokens = HashMap::with_capacity_and_hasher(vocab.len(), Default::default());
        for (token, &id) in &vocab {
            if let Some(other) = tokens.insert(id, token.clone()) {
                return Err(invalid(
                    "model.vocab",
                    format!("id {id} is given to both {other:?} and {token:?}"),
                ));
            }
        }

        let alphabet = byte_level_alphabet();
        let mut byte_ids = [0; 256];
        let mut alphabet_bytes = HashMap::with_capacity_and_hasher(256, Default::default());
        for ((byte, &symbol), id) in (0..=u8::MAX).zip(&alphabet).zip(&mut byte_ids) {
            *id = *vocab.get(symbol.encode_utf8(&mut [0; 4])).ok_or_else(|| {
                invalid(
                    "model.vocab",
                    format!("no token for byte 0x{byte:02x} (byte-level symbol {symbol:?})"),
                )
            })?;
            alphabet_bytes.insert(symbol, byte);
        }

        let mut merges = HashMap::with_capacity_and_hasher(raw.merges.0.len(), Default::default());
        let mut joined = String::new();
        for (index, (left, right)) in raw.merges.0.iter().enumerate() {
            let field = || format!("model.merges[{index}]");
            let lookup = |token: &str| {
                vocab
                    .get(token)
                    .copied()
                    .ok_or_else(|| invalid(field(), format!("{token:?} is not in model.vocab")))
            };
            joined.clear();
            joined.push_str(left);
            joined.push_str(right);
            let pair = (lookup(left)?, lookup(right)?);
            let id = lookup(&joined)?;
            let rank = u32::try_from(index).map_err(|_| invalid(field(), "too many merges"))?;
            // As in the Hugging Face library, a pair listed twice keeps its later rank.
            merges.insert(pair, Merge { rank, id });
        }

        Ok(Bpe { vocab, tokens, byte_ids, alphabet, alphabet_bytes, merges, ignore_merges })
    }

    /// Appends the ids of one pre-tokenized word, given as UTF-8 bytes.
    fn encode_word(&self, word: &[u8], ids: &mut Vec<u32>) {
        if let [byte] = word {
            ids.push(self.byte_ids[usize::from(*byte)]);
            return;
        }
        if word.is_empty() {
            return;
        }
        if self.ignore_merges {
            let spelled: String = word.iter().map(|&b| self.alphabet[usize::from(b)]).collect();
            if let Some(&id) = self.vocab.get(&spelled) {
                ids.push(id);
                return;
            }
        }

        let last = word.len() - 1;
        let mut symbols: Vec<Symbol> = word
            .iter()
            .enumerate()
            .map(|(i, &byte)| Symbol {
                id: self.byte_ids[usize::from(byte)],
                prev: i.checked_sub(1),
                next: (i < last).then_some(i + 1),
                alive: true,
            })
            .collect();
        // Candidate merges as (rank, left position, merged id), lowest rank then leftmost first.
        // Entries go stale when a neighbour merges first; they are checked when popped.
        let mut queue: BinaryHeap<Reverse<(u32, usize, u32)>> = symbols
            .windows(2)
            .enumerate()
            .filter_map(|(pos, pair)| {
                let merge = self.merges.get(&(pair.first()?.id, pair.get(1)?.id))?;
                Some(Reverse((merge.rank, pos, merge.id)))
            })
            .collect();

        while let Some(Reverse((_, pos, merged_id))) = queue.pop() {
            let Some(&left) = symbols.get(pos) else { continue };
            let Some(right_pos) = left.next.filter(|_| left.alive) else { continue };
            let Some(&right) = symbols.get(right_pos) else { continue };
            // A stale entry no longer describes the pair at `pos`: the pair's text only grows,
            // so an entry whose merged id still matches is current.
            if self.merges.get(&(left.id, right.id)).is_none_or(|m| m.id != merged_id) {
                continue;
            }
            if let Some(symbol) = symbols.get_mut(pos) {
                symbol.id = merged_id;
                symbol.next = right.next;
            }
            if let Some(symbol) = symbols.get_mut(right_pos) {
                symbol.alive = false;
            }
            if let Some(after) = right.next.and_then(|next| symbols.get_mut(next)) {
                after.prev = Some(pos);
                if let Some(merge) = self.merges.get(&(merged_id, after.id)) {
                    queue.push(Reverse((merge.rank, pos, merge.id)));
                }
            }
            if let Some(before_pos) = left.prev {
                if let Some(before) = symbols.get(before_pos) {
                    if let Some(merge) = self.merges.get(&(before.id, merged_id)) {
                        queue.push(Reverse((merge.rank, before_pos, merge.id)));
                    }
                }
            }
        }
        ids.extend(symbols.iter().filter(|s| s.alive).map(|s| s.id));
    }

    /// Appends the bytes a vocabulary token stands for. A token with a character outside the
    /// byte-level alphabet is taken as plain UTF-8, as Hugging Face's `ByteLevel` decoder does.
    fn push_token_bytes(&self, token: &str, bytes: &mut Vec<u8>) {
        let start = bytes.len();
        for c in token.chars() {
            match self.alphabet_bytes.get(&c) {
                Some(&byte) => bytes.push(byte),
                None => {
                    bytes.truncate(start);
                    bytes.extend_from_slice(token.as_bytes());
                    return;
                }
            }
        }
    }
}

/// The GPT-2 byte-level alphabet: printable Latin-1 bytes stand for themselves, the other 68
/// bytes for U+0100 onwards, in byte order.
fn byte_level_alphabet() -> [char; 256] {
    let mut alphabet = ['\0'; 256];
    let mut next_extra = 0x100;
    for (byte, symbol) in (0..=u8::MAX).zip(&mut alphabet) {
        let printable = matches!(byte, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
        *symbol = if printable {
            char::from(byte)
        } else {
            next_extra += 1;
            // U+0100..U+0144 are all assigned scalar values, so this never falls back.
            char::from_u32(next_extra - 1).unwrap_or(char::REPLACEMENT_CHARACTER)
        };
    }
    alphabet
}

/// Hash maps keyed by short tokens and id pairs: built once at load, read on every merge.
type HashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The multiply-rotate hash of the Firefox and rustc hash tables: several times faster than
/// the standard SipHash on short keys. The keys come from the model file, not from text being
/// encoded, so resistance to crafted collisions is not needed.
#[derive(Default)]
struct FxHasher {
    hash: u64,
}

impl FxHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        for &byte in chunks.remainder() {
            self.add(u64::from(byte));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the JSON
// ---------------------------------------------------------------------------------------------

/// The top level of `tokenizer.json`. Small sections stay as JSON values and are checked by hand
/// (for errors that name the field); the large vocabulary and merge list are read directly.
#[derive(Deserialize)]
struct RawTokenizer {
    #[serde(default)]
    version: Value,
    #[serde(default)]
    truncation: Value,
    #[serde(default)]
    padding: Value,
    #[serde(default)]
    added_tokens: Value,
    #[serde(default)]
    normalizer: Value,
    #[serde(default)]
    pre_tokenizer: Value,
    #[serde(default)]
    decoder: Value,
    model: RawModel,
}

/// The `model` section. `unk_token`, `fuse_unk` and `byte_fallback` are not read: they only act
/// on characters missing from the vocabulary, and loading checks that every byte is there.
#[derive(Deserialize)]
struct RawModel {
    #[serde(rename = "type", default)]
    kind: Value,
    #[serde(default)]
    dropout: Value,
    #[serde(default)]
    continuing_subword_prefix: Value,
    #[serde(default)]
    end_of_word_suffix: Value,
    #[serde(default)]
    ignore_merges: Value,
    vocab: RawVocab,
    merges: RawMerges,
}

/// `model.vocab`: token to id.
struct RawVocab(HashMap<String, u32>);

impl<'de> Deserialize<'de> for RawVocab {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct VocabVisitor;
        impl<'de> Visitor<'de> for VocabVisitor {
            type Value = RawVocab;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`model.vocab`: an object mapping tokens to ids")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawVocab, A::Error> {
                let mut vocab = HashMap::with_capacity_and_hasher(
                    map.size_hint().unwrap_or(0),
                    Default::default(),
                );
                while let Some(token) = map.next_key::<String>()? {
                    let id = match map.next_value::<Value>()? {
                        Value::Number(n) => n.as_u64().and_then(|id| u32::try_from(id).ok()),
                        _ => None,
                    };
                    let Some(id) = id else {
                        return Err(de::Error::custom(format_args!(
                            "field `model.vocab`: the id of {token:?} is not a 32-bit unsigned \
                             integer"
                        )));
                    };
                    if let Some(previous) = vocab.insert(token, id) {
                        return Err(de::Error::custom(format_args!(
                            "field `model.vocab`: a token is listed twice (ids {previous} and {id})"
                        )));
                    }
                }
                Ok(RawVocab(vocab))
            }
        }
        deserializer.deserialize_map(VocabVisitor)
    }
}

/// `model.merges`, in rank order: each either `"left right"` (older files) or `["left", "right"]`.
struct RawMerges(Vec<(String, String)>);

impl<'de> Deserialize<'de> for RawMerges {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MergesVisitor;
        impl<'de> Visitor<'de> for MergesVisitor {
            type Value = RawMerges;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`model.merges`: a list of merges")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawMerges, A::Error> {
                let mut merges = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(entry) = seq.next_element::<Value>()? {
                    let pair = match entry {
                        Value::String(text) => text
                            .split_once(' ')
                            .map(|(left, right)| (left.to_owned(), right.to_owned())),
                        Value::Array(pair) => match <[Value; 2]>::try_from(pair) {
                            Ok([Value::String(left), Value::String(right)]) => Some((left, right)),
                            _ => None,
                        },
                        _ => None,
                    };
                    let Some(pair) = pair else {
                        return Err(de::Error::custom(format_args!(
                            "field `model.merges[{}]`: expected \"left right\" or \
                             [\"left\", \"right\"]",
                            merges.len()
                        )));
                    };
                    merges.push(pair);
                }
                Ok(RawMerges(merges))
            }
        }
        deserializer.deserialize_seq(MergesVisitor)
    }
}

/// An `added_tokens` entry, checked.
struct AddedEntry {
    token: AddedToken,
    normalized: bool,
}

/// Reads `added_tokens`; the result lists special tokens first, each group in file order, which
/// is the order the Hugging Face library matches them in.
fn parse_added_tokens(value: &Value, bpe: &Bpe) -> Result<Vec<AddedEntry>, TokenizerError> {
    let entries = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(entries) => entries,
        _ => return Err(invalid("added_tokens", "expected a list")),
    };
    let mut special = Vec::new();
    let mut plain = Vec::new();
    let mut seen_ids: HashMap<u32, &str> = HashMap::default();
    let mut seen_contents: HashMap<&str, u32> = HashMap::default();
    for (index, entry) in entries.iter().enumerate() {
        let path = format!("added_tokens[{index}]");
        let object = as_object(entry, &path)?;
        let content = get_str(object, "content", &path)?;
        let id = get_u32(object, "id", &path)?;
        let flag = |key| get_bool(object, key, &path);
        let (single_word, lstrip, rstrip) =
            (flag("single_word")?, flag("lstrip")?, flag("rstrip")?);
        let (normalized, is_special) = (flag("normalized")?, flag("special")?);
        if content.is_empty() {
            // The Hugging Face library skips empty added tokens.
            continue;
        }
        if let Some(previous) = seen_contents.insert(content, id) {
            return Err(invalid(
                format!("{path}.content"),
                format!("{content:?} is already added with id {previous}"),
            ));
        }
        if let Some(previous) = seen_ids.insert(id, content) {
            return Err(invalid(
                format!("{path}.id"),
                format!("id {id} is already given to added token {previous:?}"),
            ));
        }
        if let Some(&vocab_id) = bpe.vocab.get(content) {
            if vocab_id != id {
                return Err(invalid(
                    format!("{path}.id"),
                    format!("{content:?} has id {vocab_id} in model.vocab, not {id}"),
                ));
            }
        }
        if let Some(vocab_token) = bpe.tokens.get(&id) {
            if vocab_token != content {
                return Err(invalid(
                    format!("{path}.id"),
                    format!("id {id} belongs to {vocab_token:?} in model.vocab"),
                ));
            }
        }
        let token = AddedToken { content: content.to_owned(), id, single_word, lstrip, rstrip };
        let entry = AddedEntry { token, normalized };
        if is_special {
            special.push(entry);
        } else {
            plain.push(entry);
        }
    }
    special.append(&mut plain);
    Ok(special)
}

/// Reads `normalizer`: true for NFC, false for none.
fn parse_normalizer(value: &Value) -> Result<bool, TokenizerError> {
    if value.is_null() {
        return Ok(false);
    }
    match get_str(as_object(value, "normalizer")?, "type", "normalizer")? {
        "NFC" => Ok(true),
        other => Err(unsupported_str("normalizer.type", other, "\"NFC\" (or no normalizer)")),
    }
}

/// Reads `pre_tokenizer`: `Split` steps followed by one `ByteLevel`, alone or in a `Sequence`.
/// Returns the split patterns in order.
fn parse_pre_tokenizer(value: &Value) -> Result<Vec<Regex>, TokenizerError> {
    const SUPPORTED: &str = "\"Split\" steps followed by \"ByteLevel\", alone or in a \"Sequence\"";
    let top = as_object(value, "pre_tokenizer")?;
    let steps: Vec<(String, &Map<String, Value>)> = match get_str(top, "type", "pre_tokenizer")? {
        "Sequence" => {
            let Some(Value::Array(list)) = top.get("pretokenizers") else {
                return Err(invalid("pre_tokenizer.pretokenizers", "expected a list"));
            };
            list.iter()
                .enumerate()
                .map(|(i, step)| {
                    let path = format!("pre_tokenizer.pretokenizers[{i}]");
                    as_object(step, &path).map(|object| (path, object))
                })
                .collect::<Result<_, _>>()?
        }
        _ => vec![("pre_tokenizer".to_owned(), top)],
    };

    let mut splits = Vec::new();
    let mut byte_level = false;
    for (path, step) in steps {
        let kind = get_str(step, "type", &path)?;
        match kind {
            "Split" if !byte_level => splits.push(parse_split(step, &path)?),
            "ByteLevel" if !byte_level => {
                for key in ["add_prefix_space", "use_regex"] {
                    // Both default to true in the Hugging Face library.
                    if step.get(key) != Some(&Value::Bool(false)) {
                        let found = step
                            .get(key)
                            .map_or("a missing value (true)".to_owned(), |v| format!("value {v}"));
                        return Err(TokenizerError::Unsupported {
                            field: format!("{path}.{key}"),
                            found,
                            supported: "false",
                        });
                    }
                }
                byte_level = true;
            }
            _ => return Err(unsupported_str(&format!("{path}.type"), kind, SUPPORTED)),
        }
    }
    if !byte_level {
        return Err(TokenizerError::Unsupported {
            field: "pre_tokenizer".to_owned(),
            found: "a pre-tokenizer without \"ByteLevel\"".to_owned(),
            supported: SUPPORTED,
        });
    }
    Ok(splits)
}

/// Reads one `Split` pre-tokenizer step.
fn parse_split(step: &Map<String, Value>, path: &str) -> Result<Regex, TokenizerError> {
    let behavior = get_str(step, "behavior", path)?;
    if behavior != "Isolated" {
        return Err(unsupported_str(&format!("{path}.behavior"), behavior, "\"Isolated\""));
    }
    match step.get("invert") {
        None | Some(Value::Bool(false)) => {}
        Some(other) => return Err(unsupported(&format!("{path}.invert"), other, "false")),
    }
    let pattern_path = format!("{path}.pattern");
    let pattern = as_object(step.get("pattern").unwrap_or(&Value::Null), &pattern_path)?;
    let (field, regex) = match (pattern.get("Regex"), pattern.get("String")) {
        (Some(Value::String(regex)), None) => (format!("{pattern_path}.Regex"), regex.clone()),
        (None, Some(Value::String(literal))) => {
            (format!("{pattern_path}.String"), fancy_regex::escape(literal).into_owned())
        }
        _ => {
            return Err(invalid(
                pattern_path,
                "expected {\"Regex\": \"...\"} or {\"String\": \"...\"}",
            ))
        }
    };
    Regex::new(&regex).map_err(|source| TokenizerError::Regex { field, source: Box::new(source) })
}

/// Checks that `decoder` is `ByteLevel`, the decoding [`Tokenizer::decode`] implements.
fn check_decoder(value: &Value) -> Result<(), TokenizerError> {
    match get_str(as_object(value, "decoder")?, "type", "decoder")? {
        "ByteLevel" => Ok(()),
        other => Err(unsupported_str("decoder.type", other, "\"ByteLevel\"")),
    }
}

fn require_null(value: &Value, field: &str) -> Result<(), TokenizerError> {
    if value.is_null() {
        Ok(())
    } else {
        Err(unsupported(field, value, "null"))
    }
}

fn as_object<'v>(value: &'v Value, field: &str) -> Result<&'v Map<String, Value>, TokenizerError> {
    value
        .as_object()
        .ok_or_else(|| invalid(field, format!("expected an object, found {}", kind_of(value))))
}

fn get_str<'v>(
    object: &'v Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'v str, TokenizerError> {
    match object.get(key) {
        Some(Value::String(text)) => Ok(text),
        other => Err(invalid(format!("{path}.{key}"), expected("a string", other))),
    }
}

fn get_bool(object: &Map<String, Value>, key: &str, path: &str) -> Result<bool, TokenizerError> {
    match object.get(key) {
        Some(Value::Bool(flag)) => Ok(*flag),
        other => Err(invalid(format!("{path}.{key}"), expected("a boolean", other))),
    }
}

fn get_u32(object: &Map<String, Value>, key: &str, path: &str) -> Result<u32, TokenizerError> {
    let value = object.get(key);
    value.and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok()).ok_or_else(|| {
        invalid(format!("{path}.{key}"), expected("a 32-bit unsigned integer", value))
    })
}

fn expected(what: &str, found: Option<&Value>) -> String {
    format!("expected {what}, found {}", found.map_or("nothing", kind_of))
}

/// A short description of a JSON value for error messages (never the whole value).
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> TokenizerError {
    TokenizerError::Invalid { field: field.into(), reason: reason.into() }
}

fn unsupported(field: &str, found: &Value, supported: &'static str) -> TokenizerError {
    let found = match found {
        Value::String(text) => format!("{text:?}"),
        Value::Object(object) => match object.get("type") {
            Some(Value::String(kind)) => format!("an object of type {kind:?}"),
            _ => "an object".to_owned(),
        },
        Value::Bool(_) | Value::Number(_) => format!("value {found}"),
        other => kind_of(other).to_owned(),
    };
    TokenizerError::Unsupported { field: field.to_owned(), found, supported }
}

fn unsupported_str(field: &str, found: &str, supported: &'static str) -> TokenizerError {
    TokenizerError::Unsupported { field: field.to_owned(), found: format!("{found:?}"), supported }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    /// The Qwen2 tokenizer shipped in `assets/`, loaded once for all tests.
    fn qwen2() -> &'static Tokenizer {
        static TOKENIZER: OnceLock<Tokenizer> = OnceLock::new();
        TOKENIZER.get_or_init(|| {
            let path =
                concat!(env!("CARGO_MANIFEST_DIR"), "/assets/tokenizer/qwen2/tokenizer.json");
            let text = std::fs::read_to_string(path).expect("read the Qwen2 tokenizer.json");
            Tokenizer::from_json(&text).expect("load the Qwen2 tokenizer.json")
        })
    }

    fn encode(text: &str) -> Vec<u32> {
        qwen2().encode(text).expect("encode")
    }

    const QWEN2_SPLIT: &str = concat!(
        r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}",
        r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
    );

    /// A small tokenizer in the Qwen2 layout: the 256 byte symbols (id = byte), the words
    /// `he`, `ll`, `hell`, `hello`, `Ġh` (ids 256..=260) in that merge order, and `xyz` (261),
    /// which no merge builds.
    fn tiny_json() -> Value {
        let alphabet = byte_level_alphabet();
        let mut vocab: Map<String, Value> =
            alphabet.iter().zip(0u32..).map(|(c, id)| (c.to_string(), json!(id))).collect();
        for (word, id) in [("he", 256), ("ll", 257), ("hell", 258), ("hello", 259), ("Ġh", 260)] {
            vocab.insert(word.to_owned(), json!(id));
        }
        vocab.insert("xyz".to_owned(), json!(261));
        json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": [],
            "normalizer": {"type": "NFC"},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": QWEN2_SPLIT}, "behavior": "Isolated",
                 "invert": false},
                {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true,
                 "use_regex": false}
            ]},
            "post_processor": null,
            "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true,
                        "use_regex": true},
            "model": {"type": "BPE", "dropout": null, "unk_token": null,
                      "continuing_subword_prefix": "", "end_of_word_suffix": "",
                      "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                      "vocab": vocab,
                      "merges": [["h", "e"], ["l", "l"], ["he", "ll"], ["hell", "o"], ["Ġ", "h"]]}
        })
    }

    fn tiny(edit: impl FnOnce(&mut Value)) -> Result<Tokenizer, TokenizerError> {
        let mut json = tiny_json();
        edit(&mut json);
        Tokenizer::from_json(&json.to_string())
    }

    fn added(content: &str, id: u32, flags: [bool; 5]) -> Value {
        let [single_word, lstrip, rstrip, normalized, special] = flags;
        json!({"id": id, "content": content, "single_word": single_word, "lstrip": lstrip,
               "rstrip": rstrip, "normalized": normalized, "special": special})
    }

    fn bytes_of(text: &str) -> Vec<u32> {
        text.bytes().map(u32::from).collect()
    }

    /// Reference BPE: merge the lowest-ranked adjacent pair, leftmost first, until none is left.
    fn naive_bpe(bpe: &Bpe, word: &[u8]) -> Vec<u32> {
        let mut ids: Vec<u32> = word.iter().map(|&b| bpe.byte_ids[usize::from(b)]).collect();
        loop {
            let best = ids
                .windows(2)
                .enumerate()
                .filter_map(|(pos, pair)| {
                    bpe.merges.get(&(pair[0], pair[1])).map(|m| (m.rank, pos, m.id))
                })
                .min();
            let Some((_, pos, id)) = best else { return ids };
            ids.splice(pos..pos + 2, [id]);
        }
    }

    #[test]
    fn chat_prompt_splits_out_special_tokens() {
        let ids = encode("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n");
        // Ids from the Hugging Face library (see parity.jsonl).
        assert_eq!(ids, [151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198]);
        assert_eq!(encode("text<|im_end|>more text"), [1318, 151645, 6384, 1467]);
        // Almost-special text is ordinary text.
        assert!(!encode("<|im_start |>").contains(&151644));
    }

    #[test]
    fn empty_text_has_no_ids() {
        assert_eq!(encode(""), Vec::<u32>::new());
        assert_eq!(qwen2().decode(&[]).expect("decode"), "");
    }

    #[test]
    fn text_is_nfc_normalized_before_bpe() {
        assert_eq!(encode("cafe\u{301}"), encode("café"));
        assert_eq!(encode("\u{212b}"), encode("\u{c5}"));
        assert_eq!(qwen2().decode(&encode("e\u{301}")).expect("decode"), "\u{e9}");
    }

    #[test]
    fn cjk_emoji_and_combining_marks_round_trip() {
        for text in
            ["把盒子递给另一只手臂", "상자를 건네주세요", "🤖🦾 👩\u{200d}🔬 👍🏽", "a\u{331}\u{308}"]
        {
            let ids = encode(text);
            assert!(!ids.is_empty());
            assert_eq!(qwen2().decode(&ids).expect("decode"), text.nfc().collect::<String>());
        }
        assert_eq!(encode("😀"), [141334]);
    }

    #[test]
    fn token_id_finds_added_and_vocabulary_tokens() {
        assert_eq!(qwen2().token_id("<|im_end|>"), Some(151645));
        assert_eq!(qwen2().token_id("<img>"), Some(151665));
        assert_eq!(qwen2().token_id("Ċ"), Some(198));
        assert_eq!(qwen2().token_id("not a single token"), None);
    }

    #[test]
    fn decode_rejects_unknown_ids() {
        let err = qwen2().decode(&[1, 999_999]).expect_err("999999 is not a token");
        assert!(matches!(err, TokenizerError::UnknownId { id: 999_999 }), "{err}");
    }

    #[test]
    fn merges_apply_in_rank_order() {
        let tokenizer = tiny(|_| {}).expect("tiny tokenizer");
        assert_eq!(tokenizer.encode("hello").expect("encode"), [259]);
        // `Ġh` is listed after `he`, so ` hello` keeps its space apart.
        assert_eq!(tokenizer.encode(" hello").expect("encode"), [32, 259]);
        assert_eq!(tokenizer.encode(" hex").expect("encode"), [32, 256, 120]);
        assert_eq!(tokenizer.encode(" hx").expect("encode"), [260, 120]);
    }

    #[test]
    fn merges_may_be_written_as_strings() {
        let tokenizer = tiny(|json| {
            json["model"]["merges"] = json!(["h e", "l l", "he ll", "hell o", "Ġ h"]);
        })
        .expect("tiny tokenizer with string merges");
        assert_eq!(tokenizer.encode(" hello hx").expect("encode"), [32, 259, 260, 120]);
    }

    #[test]
    fn ignore_merges_takes_whole_words_from_the_vocabulary() {
        let merging = tiny(|_| {}).expect("tiny tokenizer");
        assert_eq!(merging.encode("xyz").expect("encode"), bytes_of("xyz"));
        let whole = tiny(|json| json["model"]["ignore_merges"] = json!(true)).expect("tiny");
        assert_eq!(whole.encode("xyz hello").expect("encode"), [261, 32, 259]);
    }

    #[test]
    fn added_tokens_match_leftmost_longest() {
        let tokenizer = tiny(|json| {
            json["added_tokens"] = json!([
                added("ab", 300, [false, false, false, false, false]),
                added("abc", 301, [false, false, false, false, true]),
                added("bcd", 302, [false, false, false, false, true]),
            ]);
        })
        .expect("tiny tokenizer");
        assert_eq!(tokenizer.encode("abcd ab").expect("encode"), [301, 100, 32, 300]);
        assert_eq!(tokenizer.encode("xbcd").expect("encode"), [120, 302]);
        assert_eq!(tokenizer.token_id("abc"), Some(301));
        assert_eq!(tokenizer.decode(&[301, 100, 32, 300]).expect("decode"), "abcd ab");
    }

    #[test]
    fn added_token_flags_are_honoured() {
        let tokenizer = tiny(|json| {
            json["added_tokens"] = json!([
                added("<m>", 300, [false, true, true, false, true]),
                added("[w]", 301, [true, false, false, false, true]),
                added("\u{1d2}", 302, [false, false, false, true, false]),
                added("a\u{301}", 303, [false, false, false, false, false]),
            ]);
        })
        .expect("tiny tokenizer");
        let encode = |text: &str| tokenizer.encode(text).expect("encode");
        // lstrip and rstrip swallow the surrounding whitespace.
        assert_eq!(encode("a \t<m>  b"), [97, 300, 98]);
        // single_word needs non-word characters (or the ends of the text) around the token.
        assert_eq!(
            encode("[w] x[w] [w]_ ([w])"),
            [[301].as_slice(), &bytes_of(" x[w] [w]_ ("), &[301], &bytes_of(")")].concat()
        );
        // A normalized token also matches its decomposed spelling; a raw one only itself.
        assert_eq!(encode("o\u{30c}"), [302]);
        assert_eq!(encode("a\u{301}"), [303]);
        assert_eq!(encode("\u{e1}"), bytes_of("\u{e1}"));
    }

    /// A change to the tiny tokenizer's JSON.
    type Edit = Box<dyn FnOnce(&mut Value)>;

    /// The field an error names, for checking that errors point at the right place.
    fn field_of(err: &TokenizerError) -> &str {
        match err {
            TokenizerError::Invalid { field, .. }
            | TokenizerError::Unsupported { field, .. }
            | TokenizerError::Regex { field, .. } => field,
            _ => "",
        }
    }

    #[test]
    fn unsupported_configurations_are_refused_by_field() {
        let cases: Vec<(&str, Edit)> = vec![
            ("model.type", Box::new(|j| j["model"]["type"] = json!("WordPiece"))),
            ("model.dropout", Box::new(|j| j["model"]["dropout"] = json!(0.1))),
            (
                "model.end_of_word_suffix",
                Box::new(|j| j["model"]["end_of_word_suffix"] = json!("</w>")),
            ),
            ("normalizer.type", Box::new(|j| j["normalizer"] = json!({"type": "NFKC"}))),
            ("truncation", Box::new(|j| j["truncation"] = json!({"max_length": 8}))),
            ("padding", Box::new(|j| j["padding"] = json!({"strategy": "BatchLongest"}))),
            ("decoder.type", Box::new(|j| j["decoder"] = json!({"type": "WordPiece"}))),
            ("version", Box::new(|j| j["version"] = json!("2.0"))),
            (
                "pre_tokenizer.pretokenizers[0].behavior",
                Box::new(|j| j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = json!("Removed")),
            ),
            (
                "pre_tokenizer.pretokenizers[0].invert",
                Box::new(|j| j["pre_tokenizer"]["pretokenizers"][0]["invert"] = json!(true)),
            ),
            (
                "pre_tokenizer.pretokenizers[1].use_regex",
                Box::new(|j| j["pre_tokenizer"]["pretokenizers"][1]["use_regex"] = json!(true)),
            ),
            (
                "pre_tokenizer.pretokenizers[1].add_prefix_space",
                Box::new(|j| {
                    j["pre_tokenizer"]["pretokenizers"][1]
                        .as_object_mut()
                        .map(|o| o.remove("add_prefix_space"))
                        .map_or((), |_| ())
                }),
            ),
            (
                "pre_tokenizer.pretokenizers[1].type",
                Box::new(|j| {
                    j["pre_tokenizer"]["pretokenizers"][1] = json!({"type": "Whitespace"})
                }),
            ),
            (
                "pre_tokenizer",
                Box::new(|j| {
                    j["pre_tokenizer"]["pretokenizers"].as_array_mut().map_or((), |l| {
                        l.pop();
                    })
                }),
            ),
            (
                "pre_tokenizer.pretokenizers[0].pattern.Regex",
                Box::new(|j| {
                    j["pre_tokenizer"]["pretokenizers"][0]["pattern"] =
                        json!({"Regex": "(unclosed"})
                }),
            ),
        ];
        for (field, edit) in cases {
            let err = tiny(edit).expect_err(field);
            assert_eq!(field_of(&err), field, "{err}");
        }
    }

    #[test]
    fn inconsistent_files_are_refused_by_field() {
        let cases: Vec<(&str, Edit)> = vec![
            (
                "model.merges[5]",
                Box::new(|j| {
                    j["model"]["merges"].as_array_mut().map_or((), |l| l.push(json!(["x", "y"])))
                }),
            ),
            (
                "model.vocab",
                Box::new(|j| {
                    j["model"]["vocab"].as_object_mut().map_or((), |v| {
                        v.remove("Ā");
                    })
                }),
            ),
            ("model.vocab", Box::new(|j| j["model"]["vocab"]["xyz"] = json!(5))),
            (
                "added_tokens[0].id",
                Box::new(|j| j["added_tokens"] = json!([added("hello", 300, [false; 5])])),
            ),
            (
                "added_tokens[0].id",
                Box::new(|j| j["added_tokens"] = json!([added("<x>", 7, [false; 5])])),
            ),
            (
                "added_tokens[1].content",
                Box::new(|j| {
                    j["added_tokens"] =
                        json!([added("<x>", 300, [false; 5]), added("<x>", 301, [false; 5])])
                }),
            ),
            (
                "added_tokens[0].special",
                Box::new(|j| {
                    j["added_tokens"] = json!([{"id": 300, "content": "<x>", "single_word": false,
                    "lstrip": false, "rstrip": false, "normalized": false}])
                }),
            ),
        ];
        for (field, edit) in cases {
            let err = tiny(edit).expect_err(field);
            assert_eq!(field_of(&err), field, "{err}");
        }
    }

    #[test]
    fn malformed_json_is_an_error_with_context() {
        let err = Tokenizer::from_json("{\"model\": ").expect_err("truncated");
        assert!(matches!(err, TokenizerError::Json(_)), "{err}");
        let err = tiny(|j| j["model"]["vocab"]["xyz"] = json!("261")).expect_err("string id");
        assert!(err.to_string().contains("model.vocab"), "{err}");
        let err = tiny(|j| j["model"]["merges"] = json!([["h", "e", "x"]])).expect_err("triple");
        assert!(err.to_string().contains("model.merges[0]"), "{err}");
        let err = tiny(|j| j["model"]["merges"] = json!(["he"])).expect_err("no space");
        assert!(err.to_string().contains("model.merges[0]"), "{err}");
    }

    #[test]
    fn an_overlong_run_is_an_error_not_a_panic() {
        let tokenizer = tiny(|_| {}).expect("tiny tokenizer");
        let err = tokenizer.encode(&"a".repeat(2_000_000)).expect_err("too long for the matcher");
        assert!(matches!(err, TokenizerError::Match { .. }), "{err}");
    }

    /// Text that contains no added token of the Qwen2 file.
    fn plain_text() -> impl Strategy<Value = String> {
        let mixed = "[ \t\n\r\u{b}\u{a0}\u{3000}a-zA-Z0-9'.,!?<>|_#\\-é盒子상😀👍🏽\u{301}\u{308}\u{200d}]{0,64}";
        prop_oneof![any::<String>(), mixed].prop_filter("contains an added token", |text| {
            !qwen2().added_ids.keys().any(|token| text.contains(token.as_str()))
        })
    }

    proptest! {
        #[test]
        fn decode_inverts_encode_up_to_nfc(text in plain_text()) {
            let ids = qwen2().encode(&text).expect("encode");
            prop_assert_eq!(qwen2().decode(&ids).expect("decode"), text.nfc().collect::<String>());
        }

        #[test]
        fn merging_matches_the_naive_reference(word in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..48),
            "[a-z ]{0,48}".prop_map(String::into_bytes),
        ]) {
            let bpe = &qwen2().bpe;
            let mut ids = Vec::new();
            bpe.encode_word(&word, &mut ids);
            prop_assert_eq!(ids, naive_bpe(bpe, &word));
        }

        #[test]
        fn from_json_never_panics_on_arbitrary_text(text in any::<String>()) {
            let _ = Tokenizer::from_json(&text);
        }

        #[test]
        fn from_json_never_panics_on_mutated_files(
            edits in proptest::collection::vec(
                (any::<prop::sample::Index>(), any::<u8>(), 0..3u8),
                1..8,
            )
        ) {
            let mut bytes = tiny_json().to_string().into_bytes();
            for (at, byte, kind) in edits {
                let at = at.index(bytes.len() + 1);
                match kind {
                    0 => bytes.insert(at, byte),
                    1 if at < bytes.len() => { bytes.remove(at); }
                    _ if at < bytes.len() => bytes[at] = byte,
                    _ => bytes.push(byte),
                }
            }
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(tokenizer) = Tokenizer::from_json(&text) {
                let _ = tokenizer.encode("hello <m> wörld 😀");
            }
        }
    }
}
