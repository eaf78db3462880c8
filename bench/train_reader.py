"""Train the reader: a start/end span head on multilingual-e5-small, its top layers fine-tuned.

The recipe fits these 2-core CPUs: the embedding matrix and the bottom ``--frozen`` layers
stay as they are, so their output for every training window is computed once (stage 1,
stored fp16 under ``--work``) and the epochs run the top layers only (stage 2). Both stages
resume from what they left under ``--work``: stage 1 by finished shard, stage 2 from the
last checkpoint, with the data order, dropout and optimiser state restored, so an
interrupted run ends with the same weights as an uninterrupted one.

Reads SQuAD-format files from ``../shared/data/reader_train/`` (never XQuAD, which measures
the reader) and writes what training changed (the top layers and the head, fp16) with the
settings the reader needs into ``qa/reader/`` (see ``qa.reading``).

    python bench/train_reader.py --data ../shared/data/reader_train --work /tmp/reader-train
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch.nn.functional import cross_entropy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.embedding import ensure_model
from qa.lexical import is_stopword
from qa.reading import (
    READER_DIR,
    SETTINGS_FILE,
    WEIGHTS_FILE,
    ReaderSettings,
    clip_question,
    load_base_tokenizer,
    save_reader_weights,
)
from qa.translation import DEFAULT_DICTIONARY, Dictionary
from qa.words import word_matches

SEED = 20261201
SWITCHED_WORDS = 0.7
"""Share of a code-switched passage's content words given in German."""


@dataclass(frozen=True)
class Example:
    question: str
    context: str
    answer_start: int | None
    """Where the answer starts in ``context``; ``None`` where the passage does not answer."""
    answer_text: str | None
    language: str
    source: str
    """The file it came from, or the kind of negative made from it."""


def read_squad(path: Path, language: str) -> list[Example]:
    data = json.loads(path.read_text(encoding="utf-8"))
    examples = []
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                answers = [a for a in qa.get("answers", []) if context[a["answer_start"] :].startswith(a["text"])]
                if qa.get("is_impossible") or not qa.get("answers"):
                    examples.append(Example(qa["question"], context, None, None, language, path.name))
                elif answers:
                    first = answers[0]
                    examples.append(
                        Example(qa["question"], context, first["answer_start"], first["text"], language, path.name)
                    )
    return examples


def read_training_set(folder: Path, german_repeats: int, samples: dict[str, int], rng) -> list[Example]:
    """Every file's questions (German ones ``german_repeats`` times); a file named in
    ``samples`` gives only that many, chosen by the seed."""
    examples: list[Example] = []
    for path in sorted(folder.glob("*.json")):
        language = "de" if path.stem.endswith("_de") else "en"
        found = read_squad(path, language)
        if path.name in samples and samples[path.name] < len(found):
            found = [found[i] for i in sorted(rng.choice(len(found), samples[path.name], replace=False))]
        examples += found * (german_repeats if language == "de" else 1)
        print(f"{path.name}: {len(found)} questions ({language})", flush=True)
    return examples


def other_paragraph_negatives(path: Path, language: str, count: int, rng) -> list[Example]:
    """Up to ``count`` questions of ``path``, each paired with another paragraph of its article
    that holds none of its answers: a passage on the same subject that does not answer, the
    reader's hardest "no answer" (SQuAD 2.0's unanswerable questions are English only)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    pairs = []
    for article in data["data"]:
        contexts = [paragraph["context"] for paragraph in article["paragraphs"]]
        for number, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                answers = [a["text"].casefold() for a in qa.get("answers", []) if a["text"].strip()]
                others = [
                    c for n, c in enumerate(contexts) if n != number and not any(a in c.casefold() for a in answers)
                ]
                if answers and others:
                    pairs.append((qa["question"], others))
    chosen = rng.permutation(len(pairs))[:count]
    return [
        Example(pairs[i][0], pairs[i][1][rng.integers(len(pairs[i][1]))], None, None, language, f"{path.name}:other")
        for i in sorted(chosen)
    ]


def retrieved_negatives(questions: list[Example], index: Path, per_question: int) -> list[Example]:
    """Each question paired with the passages an archive's own retrieval finds for it that hold
    none of its answers: news that reads as if it answered (the archive's index at ``index``)."""
    from qa import Archive

    archive = Archive.open(index, short_answers=False)
    negatives = []
    for example in questions:
        answer = (example.answer_text or "").casefold()
        found = archive.search(example.question, k=per_question + 2)
        lacking = [hit.text for hit in found if answer and answer not in hit.text.casefold()]
        negatives += [
            Example(example.question, text, None, None, example.language, "retrieved")
            for text in lacking[:per_question]
        ]
    return negatives


def add_negatives(examples: list[Example], args: argparse.Namespace, rng) -> list[Example]:
    """``examples`` with the German and retrieved negatives that ``args`` asks for."""
    added: list[Example] = []
    if args.other_paragraph_negatives:
        for path in sorted(args.data.glob("*.json")):
            language = "de" if path.stem.endswith("_de") else "en"
            share = args.other_paragraph_negatives if language == "de" else args.other_paragraph_negatives // 2
            added += other_paragraph_negatives(path, language, share, rng) if "unanswerable" not in path.name else []
    if args.news_index and args.retrieved_negatives:
        answerable = [e for e in examples if e.answer_text]
        picked = [answerable[i] for i in rng.permutation(len(answerable))[: args.retrieved_negatives]]
        added += retrieved_negatives(picked, args.news_index, per_question=1)
    counts: dict[str, int] = {}
    for example in added:
        counts[f"{example.source} ({example.language})"] = counts.get(f"{example.source} ({example.language})", 0) + 1
    for name, count in sorted(counts.items()):
        print(f"negatives: {count} from {name}", flush=True)
    return examples + added


def windows(examples: list[Example], tokenizer, settings: ReaderSettings, negative_share: float, rng):
    """Tokenised windows with their start/end token labels (0, the ``<s>`` token, where the
    window holds no answer). Windows of an answerable question that miss its answer are kept
    at ``negative_share``, so the model also learns that a part of a passage may not answer."""
    features = []
    batch = 256
    prefix = settings.question_prefix

    def clip(question: str) -> str:
        offsets = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        return clip_question(question, offsets, settings.max_question_tokens)

    for first in range(0, len(examples), batch):
        chunk = examples[first : first + batch]
        encoded = tokenizer(
            [clip(prefix + e.question) for e in chunk],
            [e.context for e in chunk],
            truncation="only_second",
            max_length=settings.max_length,
            stride=settings.stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        for row, source in enumerate(encoded["overflow_to_sample_mapping"]):
            example = chunk[source]
            ids = encoded["input_ids"][row]
            offsets = encoded["offset_mapping"][row]
            sequence = encoded.sequence_ids(row)
            context_tokens = [i for i, s in enumerate(sequence) if s == 1]
            start_token = end_token = 0
            if example.answer_start is not None:
                answer_end = example.answer_start + len(example.answer_text)
                first_char = offsets[context_tokens[0]][0]
                last_char = offsets[context_tokens[-1]][1]
                if first_char <= example.answer_start and answer_end <= last_char:
                    start_token = next(i for i in context_tokens if offsets[i][1] > example.answer_start)
                    end_token = next(i for i in reversed(context_tokens) if offsets[i][0] < answer_end)
                elif rng.random() >= negative_share:
                    continue
            features.append((ids, start_token, end_token))
    return features


def code_switched(example: Example, dictionary: Dictionary, share: float, rng) -> Example:
    """``example`` with ``share`` of its passage's lower-case content words replaced by a
    German translation (the answer's own words too, its offsets moved with them).

    The archive's usual case is an English question on a German passage, which the training
    data hardly has (English questions stand on English passages). A passage that is part
    German teaches the model to find the question's English words in their German
    translations (code-switching augmentation, as in Qin et al. 2020, CoSDA-ML)."""
    if example.answer_start is None:
        answer_start = answer_end = -1
    else:
        answer_start, answer_end = example.answer_start, example.answer_start + len(example.answer_text)
    pieces: list[str] = []
    kept = 0
    new_start, new_end = answer_start, answer_end
    for match in word_matches(example.context):
        word = match.group()
        if not word.islower() or len(word) < 4 or is_stopword(word) or rng.random() >= share:
            continue
        if match.start() < answer_start < match.end() or match.start() < answer_end < match.end():
            continue
        translations = [t for t in dictionary.translate(word)[:2] if t.isalpha()]
        if not translations:
            continue
        german = translations[int(rng.integers(len(translations)))]
        pieces += [example.context[kept : match.start()], german]
        kept = match.end()
        change = len(german) - len(word)
        if match.end() <= answer_start:
            new_start += change
        if match.end() <= answer_end:
            new_end += change
    if not pieces:
        return example
    context = "".join(pieces) + example.context[kept:]
    if example.answer_start is None:
        return replace(example, context=context)
    return replace(example, context=context, answer_start=new_start, answer_text=context[new_start:new_end])


def length_batches(features, batch_size: int, rng) -> list[list[int]]:
    """Batches of windows of similar length (little padding), in a seeded order."""
    order = sorted(range(len(features)), key=lambda i: (len(features[i][0]), i))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def padded(features, batch: list[int], pad_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    width = max(len(features[i][0]) for i in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, i in enumerate(batch):
        tokens = features[i][0]
        ids[row, : len(tokens)] = torch.tensor(tokens)
        mask[row, : len(tokens)] = 1
    starts = torch.tensor([features[i][1] for i in batch])
    ends = torch.tensor([features[i][2] for i in batch])
    return ids, mask, starts, ends


class SpanModel(torch.nn.Module):
    """The trained part: the top encoder layers and a start/end head."""

    def __init__(self, encoder, frozen: int) -> None:
        super().__init__()
        self.layers = torch.nn.ModuleList(encoder.encoder.layer[frozen:])
        self.qa_outputs = torch.nn.Linear(encoder.config.hidden_size, 2)
        self.get_extended_attention_mask = encoder.get_extended_attention_mask

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        extended = self.get_extended_attention_mask(mask, mask.shape)
        for layer in self.layers:
            hidden = layer(hidden, attention_mask=extended)[0]
        logits = self.qa_outputs(hidden).masked_fill(~mask.bool().unsqueeze(-1), -1e4)
        return logits[..., 0], logits[..., 1]


def epoch_order(batches: int, shard_size: int, epoch: int) -> list[int]:
    """The batches of one epoch: shards in a seeded order, and a seeded order within each,
    so that each stage-1 shard is read once an epoch."""
    rng = np.random.default_rng(SEED + epoch)
    shards = [list(range(first, min(first + shard_size, batches))) for first in range(0, batches, shard_size)]
    order: list[int] = []
    for s in rng.permutation(len(shards)):
        order += [shards[s][i] for i in rng.permutation(len(shards[s]))]
    return order


def frozen_output(encoder, frozen: int, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The hidden states after the embeddings and the bottom ``frozen`` layers."""
    hidden = encoder.embeddings(input_ids=ids)
    extended = encoder.get_extended_attention_mask(mask, mask.shape)
    for layer in encoder.encoder.layer[:frozen]:
        hidden = layer(hidden, attention_mask=extended)[0]
    return hidden


def precompute(encoder, frozen: int, features, batches, work: Path, pad_id: int, shard_size: int) -> list[Path]:
    """Stage 1: the frozen layers' output for every batch, fp16, in shards written once each."""
    shards = []
    for number, first in enumerate(range(0, len(batches), shard_size)):
        path = work / f"frozen-{number:04d}.pt"
        shards.append(path)
        if path.exists():
            continue
        started = time.time()
        stored = []
        with torch.no_grad():
            for batch in batches[first : first + shard_size]:
                ids, mask, starts, ends = padded(features, batch, pad_id)
                stored.append((frozen_output(encoder, frozen, ids, mask).half(), mask, starts, ends))
        partial = path.with_suffix(".partial")
        torch.save(stored, partial)
        partial.rename(path)
        print(f"stage 1: shard {number + 1}/{math.ceil(len(batches) / shard_size)} ({time.time() - started:.0f} s)")
    return shards


def starting_weights(path: Path) -> dict[str, torch.Tensor]:
    """The model state to continue from: a checkpoint of this script, or a folder of shipped
    reader weights (``qa/reader/``: the top layers and the head in fp16)."""
    if path.is_dir():
        from safetensors.torch import load_file

        return {name: value.float() for name, value in load_file(str(path / WEIGHTS_FILE)).items()}
    return torch.load(path, weights_only=False)["model"]


def earlier_summary(start: Path) -> dict | str:
    """What the weights training continues from were trained on, as their run recorded it."""
    if start.is_dir():
        return json.loads((start / SETTINGS_FILE).read_text())["training"]
    before = start.parent / "summary.json"
    return json.loads(before.read_text()) if before.exists() else str(start)


def train(args: argparse.Namespace) -> dict:
    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(SEED)
    args.work.mkdir(parents=True, exist_ok=True)
    settings = ReaderSettings(trained_layers=12 - args.frozen)
    folder = ensure_model()
    tokenizer = load_base_tokenizer(folder)
    samples = {name: int(count) for name, count in (item.split("=") for item in args.sample)}
    examples = read_training_set(args.data, args.german_repeats, samples, rng)
    if args.limit:
        examples = [examples[i] for i in sorted(rng.choice(len(examples), args.limit, replace=False))]
    examples = add_negatives(examples, args, rng)
    if args.code_switch:
        dictionary = Dictionary(args.dictionary)
        examples = [
            code_switched(e, dictionary, SWITCHED_WORDS, rng)
            if e.language == "en" and rng.random() < args.code_switch
            else e
            for e in examples
        ]
    features = windows(examples, tokenizer, settings, args.negative_share, rng)
    answered = sum(1 for f in features if f[1] > 0)
    print(f"{len(examples)} questions -> {len(features)} windows ({answered} with an answer)", flush=True)
    batches = length_batches(features, args.batch_size, rng)

    from transformers import BertModel

    encoder = BertModel.from_pretrained(str(folder), add_pooling_layer=False, local_files_only=True)
    encoder.eval()
    started = time.time()
    shards = precompute(encoder, args.frozen, features, batches, args.work, tokenizer.pad_token_id, args.shard_size)
    stage1 = time.time() - started

    model = SpanModel(encoder, args.frozen)
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n)]
    head = list(model.qa_outputs.parameters())
    groups = [
        {"params": [p for p in decay if all(p is not h for h in head)], "weight_decay": 0.01, "lr": args.lr},
        {"params": [p for p in no_decay if all(p is not h for h in head)], "weight_decay": 0.0, "lr": args.lr},
        {"params": head, "weight_decay": 0.0, "lr": args.head_lr},
    ]
    optimiser = torch.optim.AdamW(groups)
    total = args.epochs * len(batches) if not args.steps else args.steps
    warmup = max(1, int(0.06 * total))

    def schedule(step: int) -> float:
        return step / warmup if step < warmup else max(0.0, (total - step) / max(1, total - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, schedule)
    report_every = max(1, min(25, total // 5))
    step, losses, trained_seconds = 0, [], 0.0
    checkpoint = args.work / "checkpoint.pt"
    if args.start_from and not checkpoint.exists():
        model.load_state_dict(starting_weights(args.start_from))
        print(f"starting from the weights of {args.start_from}", flush=True)
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        step, losses, trained_seconds = state["step"], state["losses"], state["seconds"]
        print(f"resumed at step {step}/{total}", flush=True)

    schedule_of_steps = [i for epoch in range(args.epochs) for i in epoch_order(len(batches), args.shard_size, epoch)]
    schedule_of_steps = schedule_of_steps[:total]
    loaded_shard, shard_data = -1, None
    model.train()
    last_save = time.time()
    while step < total:
        batch_number = schedule_of_steps[step]
        shard_number = batch_number // args.shard_size
        if shard_number != loaded_shard:
            shard_data = torch.load(shards[shard_number], weights_only=False)
            loaded_shard = shard_number
        hidden, mask, starts, ends = shard_data[batch_number % args.shard_size]
        began = time.time()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            start_logits, end_logits = model(hidden.float(), mask)
        loss = (cross_entropy(start_logits.float(), starts) + cross_entropy(end_logits.float(), ends)) / 2
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        scheduler.step()
        optimiser.zero_grad()
        trained_seconds += time.time() - began
        losses.append(loss.item())
        step += 1
        if step % report_every == 0 or step == total:
            recent = np.mean(losses[-report_every:])
            print(f"step {step}/{total} loss {recent:.3f} ({trained_seconds:.0f} s)", flush=True)
        if time.time() - last_save > args.checkpoint_seconds or step == total:
            state = {
                "model": model.state_dict(),
                "optimiser": optimiser.state_dict(),
                "scheduler": scheduler.state_dict(),
                "torch_rng": torch.get_rng_state(),
                "step": step,
                "losses": losses,
                "seconds": trained_seconds,
            }
            torch.save(state, checkpoint.with_suffix(".partial"))
            checkpoint.with_suffix(".partial").rename(checkpoint)
            last_save = time.time()

    summary = {
        "questions": len(examples),
        "windows": len(features),
        "windows_with_answer": answered,
        "steps": total,
        "batch_size": args.batch_size,
        "stage1_seconds": round(stage1),
        "stage2_seconds": round(trained_seconds),
        "first_loss": float(np.mean(losses[:report_every])),
        "last_loss": float(np.mean(losses[-report_every:])),
        "frozen_layers": args.frozen,
        "lr": args.lr,
        "head_lr": args.head_lr,
        "epochs": args.epochs,
        "german_repeats": args.german_repeats,
        "negative_share": args.negative_share,
        "seed": SEED,
        "code_switch": args.code_switch,
        "samples": samples,
        "precision": args.precision,
        "other_paragraph_negatives": args.other_paragraph_negatives,
        "retrieved_negatives": args.retrieved_negatives if args.news_index else 0,
    }
    if args.start_from:
        before = (
            args.start_from / SETTINGS_FILE if args.start_from.is_dir() else args.start_from.parent / "summary.json"
        )
        if before.exists() and args.start_from.is_dir():
            summary["continues"] = json.loads(before.read_text())["training"]
        else:
            summary["continues"] = json.loads(before.read_text()) if before.exists() else str(args.start_from)
    if args.output:
        save_reader_weights(args.output, model.layers, model.qa_outputs, settings, summary)
        print(f"wrote {args.output}")
    return summary


def export_checkpoint(args: argparse.Namespace) -> dict:
    """Write the reader weights of the last checkpoint, without training further."""
    from transformers import BertModel

    encoder = BertModel.from_pretrained(str(ensure_model()), add_pooling_layer=False, local_files_only=True)
    model = SpanModel(encoder, args.frozen)
    state = torch.load(args.work / "checkpoint.pt", weights_only=False)
    model.load_state_dict(state["model"])
    summary = {"checkpoint_step": state["step"], "frozen_layers": args.frozen}
    save_reader_weights(args.output, model.layers, model.qa_outputs, ReaderSettings(12 - args.frozen), summary)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/reader_train"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/reader-train"))
    parser.add_argument("--output", type=Path, default=READER_DIR, help="where the weights go ('' for nowhere)")
    parser.add_argument("--frozen", type=int, default=4, help="bottom layers left as they are")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--steps", type=int, default=0, help="stop after this many steps (0: all epochs)")
    parser.add_argument("--limit", type=int, default=0, help="train on this many questions only (0: all)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--german-repeats", type=int, default=2)
    parser.add_argument("--negative-share", type=float, default=0.15)
    parser.add_argument(
        "--sample",
        nargs="*",
        default=["amazon_reviews_v1.0.json=4000", "reddit_v1.0.json=4000"],
        help="FILE=N: take N questions of that file (the CPU budget; news reads more like Wikipedia)",
    )
    parser.add_argument(
        "--code-switch", type=float, default=0.0, help="share of English questions whose passage is part German"
    )
    parser.add_argument("--dictionary", type=Path, default=DEFAULT_DICTIONARY, help="English-German dictd base path")
    parser.add_argument(
        "--start-from",
        type=Path,
        help="a checkpoint, or a reader folder (qa/reader), whose weights training starts from",
    )
    parser.add_argument(
        "--other-paragraph-negatives",
        type=int,
        default=0,
        help="per German file (half that per English file): questions paired with another paragraph of their article",
    )
    parser.add_argument("--news-index", type=Path, help="an archive index whose retrieval gives news negatives")
    parser.add_argument(
        "--retrieved-negatives",
        type=int,
        default=0,
        help="questions paired with a retrieved passage lacking the answer",
    )
    parser.add_argument("--shard-size", type=int, default=50, help="batches per stage-1 file")
    parser.add_argument("--checkpoint-seconds", type=float, default=120)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--precision",
        choices=["fp32", "bf16"],
        default="fp32",
        help="stage 2: bf16 (torch autocast, weights kept fp32) halves a step on CPUs with AVX-512 BF16",
    )
    parser.add_argument("--export-checkpoint", action="store_true", help="write the last checkpoint's weights and stop")
    args = parser.parse_args(argv)
    if str(args.output) in ("", "."):
        args.output = None
    summary = export_checkpoint(args) if args.export_checkpoint else train(args)
    print(json.dumps(summary, indent=2))
    if args.work:
        (args.work / "summary.json").write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
