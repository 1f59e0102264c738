#!/usr/bin/env python3
"""Writes a realistic support mailbox as .eml files: threads of customer mail, varied MIME
(plain, HTML alternatives, inline images, attachments), several charsets and encodings.
Deterministic (seeded), so every benchmark run loads the same mailbox.

usage: gen_mail_corpus.py OUT_DIR [COUNT]   (default 10000)
"""
import os
import random
import sys
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime, timedelta, timezone

WORDS = ("pedido entrega senha conta fatura pagamento cartão boleto reembolso troca produto "
         "tamanho cor prazo frete endereço cadastro login erro aplicativo site desconto cupom "
         "order delivery password account invoice payment refund exchange size colour shipping "
         "address signup error app website discount coupon München café naïve résumé").split()
NAMES = ["Maria Silva", "João Souza", "Ana Costa", "Pedro Alves", "Luísa Rocha", "Carlos Lima",
         "Fernanda Dias", "Ricardo Nunes", "Paula Gomes", "Bruno Teixeira", "Jürgen Müller",
         "Zoë Martin", "Olga Ivanova", "Chen Wei", "Aisha Khan"]


def sentence(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def body(rng):
    paras = [" ".join(sentence(rng, rng.randint(6, 18)) for _ in range(rng.randint(2, 6)))
             for _ in range(rng.randint(1, 5))]
    return "\n\n".join(paras)


def main():
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    os.makedirs(out, exist_ok=True)
    rng = random.Random(20261129)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    threads = []  # (subject, [message ids], customer)
    for i in range(count):
        reply = threads and rng.random() < 0.35
        if reply:
            subject, ids, (name, addr) = rng.choice(threads)
        else:
            name = rng.choice(NAMES)
            addr = f"{name.split()[0].lower()}.{i}@customers.example"
            subject = sentence(rng, rng.randint(3, 8))[:-1]
            ids = []
            threads.append((subject, ids, (name, addr)))
        msg = EmailMessage()
        user, domain = addr.split("@")
        msg["From"] = Address(name, user, domain)
        msg["To"] = Address("Acme Support", "support", "caixa.test")
        msg["Subject"] = ("Re: " + subject) if reply else subject
        msg["Date"] = format_datetime(start + timedelta(minutes=7 * i))
        mid = make_msgid(domain="customers.example")
        msg["Message-ID"] = mid
        if reply and ids:
            msg["In-Reply-To"] = ids[-1]
            msg["References"] = " ".join(ids[-10:])
        ids.append(mid)
        text = body(rng)
        charset = rng.choice(["utf-8", "utf-8", "iso-8859-1"])
        kind = rng.random()
        try:
            msg.set_content(text, charset=charset, cte=rng.choice(["quoted-printable", "base64", "8bit"]))
        except (UnicodeEncodeError, ValueError):
            msg.set_content(text, charset="utf-8")
        if kind < 0.45:
            html = "<html><body>" + "".join(f"<p>{p}</p>" for p in text.split("\n\n")) + \
                   '<img src="https://tracker.example/p.gif" width="1" height="1"></body></html>'
            msg.add_alternative(html, subtype="html")
        if kind > 0.75:
            size = rng.choice([2_000, 20_000, 60_000, 150_000])
            data = rng.randbytes(size)
            ext, maintype, subtype = rng.choice([("pdf", "application", "pdf"), ("png", "image", "png"),
                                                 ("txt", "text", "plain"), ("zip", "application", "zip")])
            if maintype == "text":
                msg.add_attachment(sentence(rng, size // 8), filename=f"nota-{i}.txt")
            else:
                msg.add_attachment(data, maintype=maintype, subtype=subtype,
                                   filename=f"anexo {i} ç.{ext}")
        with open(os.path.join(out, f"{i:06d}.eml"), "wb") as f:
            f.write(bytes(msg))


if __name__ == "__main__":
    main()
