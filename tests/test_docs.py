"""docs/default_run.md sends its reader to the code by file and line: each
function or class it names at a line is defined, or called, on that line."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# `runs/cli.py:92 train_main()`, `runs/config.py:87 TrainConfig.for_run()`: a
# reference may wrap onto the next line of the page.
NAMED = re.compile(r'`([\w/]+\.py):(\d+)\s+([\w.]+)\(\)`')
ANY = re.compile(r'`([\w/]+\.py):(\d+)')


def source(path):
    top = os.path.join(ROOT, path)
    return top if os.path.exists(top) else os.path.join(ROOT, 'facial_keypoints', path)


def page():
    with open(os.path.join(ROOT, 'docs', 'default_run.md'), encoding='utf-8') as f:
        return f.read()


def test_each_named_function_is_at_its_line():
    wrong = []
    refs = NAMED.findall(page())
    for path, line, name in refs:
        with open(source(path), encoding='utf-8') as f:
            text = f.read().splitlines()[int(line) - 1]
        short = name.split('.')[-1]
        if not re.match(r'\s*(def|class) {}\b'.format(short), text) and short + '(' not in text:
            wrong.append('{}:{} {}: {!r}'.format(path, line, name, text.strip()))
    assert len(refs) >= 20 and not wrong, wrong


def test_every_line_referred_to_exists():
    refs = ANY.findall(page())
    beyond = []
    for path, line in refs:
        with open(source(path), encoding='utf-8') as f:
            if int(line) > len(f.read().splitlines()):
                beyond.append('{}:{}'.format(path, line))
    assert len(refs) >= 50 and not beyond, beyond
