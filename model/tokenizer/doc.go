// Package tokenizer turns text into token ids and back, exactly as llama.cpp does, for the
// vocabularies of the models ZoomR targets:
//
//   - byte-level BPE from a Hugging Face tokenizer.json (Qwen2/2.5/3, DeepSeek-R1-Distill, Llama 3),
//     or from a GGUF's tokenizer.ggml.* metadata (read with model/gguf; pre-tokenizers of the
//     "llama-bpe", "qwen2", "gpt-2" and "smollm" families — SmolLM2's GGUF is tested against
//     llama.cpp);
//   - SentencePiece-style BPE from a GGUF (Llama 2, Mistral): scores, "▁" for spaces, <0xXX> byte
//     fallback, llama.cpp's space prefix;
//   - word-level vocabularies (Hugging Face "WordLevel"), which WriteWordLevel creates for small
//     trained models.
//
// # Data flow of Encode
//
//	text ─► special-token partition ─► raw fragments ─► pre-tokenizer ─► words ─► BPE merges ─► ids
//	        (added tokens, longest first;                (Llama 3 / Qwen2       (ranked merges, or
//	         control tokens only with ParseSpecial)      regex semantics)       SentencePiece scores)
//
// Special tokens are cut out first, as llama.cpp's tokenizer_st_partition does: user-defined added
// tokens (e.g. Qwen3's "<think>") always, control tokens ("<|im_start|>", and the summary markers
// added with AddSpecialTokens) only when Options.ParseSpecial is set. Each raw fragment is then
// split into words by the vocabulary's pre-tokenizer and each word is merged independently; word
// results are cached.
//
// GGUFMetadataFromHF goes the other way: it writes a byte-level BPE tokenizer.json as the
// tokenizer.* metadata llama.cpp's converter would write (examples/quantize uses it).
//
// Decode renders each id (special tokens as their text) and returns valid UTF-8, replacing bytes
// that do not form characters with U+FFFD; DecodeBytes returns the raw bytes. A StreamDecoder
// emits text token by token and holds back the bytes of a character split across tokens, so a
// stream never shows broken UTF-8.
//
// # Exactness
//
// The reference is llama.cpp (the pinned build the project's oracle runs). Tests check llama.cpp's
// own tokenizer test vectors, a differential corpus of code, numbers, CJK, emoji, whitespace runs
// and special tokens (with and without ParseSpecial), and a 1 MB text, against the oracle's ids.
// Where llama.cpp and Hugging Face differ, this package follows llama.cpp:
//   - normalizers are not applied (Qwen's NFC): feed NFC text to get Hugging Face's ids on
//     decomposed characters;
//   - for Llama 3, Encode adds BOS by default (llama.cpp's add_bos for that pre-tokenizer), which
//     Hugging Face does only when its post-processor says so;
//   - decoding never "cleans up" spaces before punctuation, so that decoding inverts encoding.
//
// # Concurrency
//
// A Tokenizer is safe for concurrent use. AddSpecialTokens takes a write lock; a StreamDecoder
// belongs to one goroutine.
//
// # Errors
//
// Bad input returns errors wrapping the sentinels ErrUnknownToken, ErrInvalidUTF8,
// ErrUnsupportedModel, ErrInvalidFile, ErrInvalidGGUF and ErrInvalidArgument; nothing panics.
package tokenizer
