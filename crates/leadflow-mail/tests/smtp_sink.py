"""A real SMTP server for leadflow's mail tests (aiosmtpd), keeping what it takes.

Usage: smtp_sink.py PORT DIR
Each message accepted is written to DIR as NNNN.eml exactly as it arrived, with the envelope
in NNNN.json (mail_from, rcpt_tos). `verify_dkim.py FILE PUBKEY` checks a signature.
Answers 550 to recipients whose local part starts with "nobody" (a hard bounce) and 451 to
those starting with "later" the first time it sees each (a temporary failure).
"""
import asyncio
import json
import os
import sys

from aiosmtpd.controller import Controller


class Keep:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0
        self.deferred = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        if local.startswith("nobody"):
            return "550 5.1.1 no such user"
        if local.startswith("later") and address not in self.deferred:
            self.deferred.add(address)
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        stem = os.path.join(self.directory, "%04d" % self.count)
        with open(stem + ".json", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}, f)
        with open(stem + ".eml.part", "wb") as f:
            f.write(envelope.original_content)
        os.rename(stem + ".eml.part", stem + ".eml")
        return "250 Message accepted"


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Keep(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()  # until the test closes our stdin (or dies)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
