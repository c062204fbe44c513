"""Checks a message's DKIM signature against a public key given on the command line (no DNS).

Usage: verify_dkim.py MESSAGE_FILE PUBLIC_KEY_BASE64; exits 0 when it verifies.
"""
import sys

import dkim

message = open(sys.argv[1], "rb").read()
record = b"v=DKIM1; k=rsa; p=" + open(sys.argv[2], "rb").read().strip()
ok = dkim.verify(message, dnsfunc=lambda name, timeout=5: record)
print("verified" if ok else "failed")
sys.exit(0 if ok else 1)
