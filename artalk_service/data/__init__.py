"""The synthetic training corpus: TTS speech with exact phone timings, and facial-motion
targets derived from them. See docs/corpus.md; entry point: artalk_service.data.cli:main."""
