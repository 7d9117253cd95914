"""Fake TikTok Shop, Login-with-Amazon and SP-API servers for sandbox mode and tests.

Nothing here imports the clients: the fakes verify signatures, tokens and bodies on their own.
"""
