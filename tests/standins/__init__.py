"""Local stand-in servers that speak vendor HTTP protocols for the test suite.

Each stand-in is a real HTTP server on 127.0.0.1 (a free port), so the real vendor SDKs
(``openai``, ``anthropic``, ...) talk to it over a socket exactly as they would talk to the
vendor, and VCR cassettes can be recorded from it. See ``openai_server`` for the OpenAI Chat
Completions stand-in.
"""
