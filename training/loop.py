"""The training loop shared by every family: Accelerate, accumulation, EMA, checkpoints, outputs.

Exactness of resume: step ``s`` seeds torch's global RNG and a CPU ``torch.Generator`` from
``(seed, s, process index)``, and draws its batch indices from :class:`~training.batches.BatchSampler`
(a pure function of the micro-batch number). So a run of ``2N`` steps and a run of ``N`` steps
resumed for ``N`` more execute the same arithmetic and end with identical weights, EMA, optimiser
state and step counter; accelerate's saved RNG states are restored but not relied on.

Multi-process: every process trains (DDP via ``accelerator.prepare``); only the main process
writes samples, metrics, the pipeline directory, the model card, and publishes.

Signals: SIGTERM/SIGINT set a flag; at the end of the current step (distributed: within
``MULTI_PROCESS_CHECK_STEPS`` steps) all processes agree to stop, save a checkpoint and return 143
(SIGTERM) or 130 (SIGINT), the shell's 128 + signal convention.
"""

from __future__ import annotations

import contextlib
import copy
import os
import signal
import time
from pathlib import Path
from typing import Any, Optional

import torch
from accelerate import Accelerator
from accelerate.utils import ProjectConfiguration, set_seed
from torch import nn
from tqdm.auto import tqdm

from training import pictures
from training.batches import BatchSampler, make_batch
from training.checkpointing import (
    TrainingProgress,
    checkpoint_path,
    finalize_checkpoint,
    partial_path,
    prune_checkpoints,
    remove_partials,
    resolve_resume,
)
from training.config import TrainConfig, save_config
from training.data import TrainData, data_resolution, describe, load_data
from training.ema import check_same_structure, ema_decay_at, ema_update, refreshed_batchnorm
from training.generator_metrics import fid_kid, paired
from training.families import Family, StepContext, get_family
from training.losses import lazy_r1_weight
from training.outputs import (
    command_line,
    empty_metrics,
    ensure_writable_dir,
    hardware_string,
    write_metrics,
    write_summary,
)

_SEED_MIX = 0x9E3779B97F4A7C15
#: How often (in steps) the processes of a distributed run check whether one of them got a signal.
MULTI_PROCESS_CHECK_STEPS = 10


def step_seed(seed: int, step: int, rank: int) -> int:
    """A well-mixed 63-bit seed for ``(seed, step, rank)``; nearby steps get unrelated streams."""
    x = (seed * 1_000_003 + step) * 65_537 + rank
    x = (x * _SEED_MIX) & 0xFFFFFFFFFFFFFFFF
    x ^= x >> 31
    return x & 0x7FFFFFFFFFFFFFFF


class StopFlag:
    """Turns SIGTERM/SIGINT into "finish this step, checkpoint, exit" (a second SIGINT aborts at once)."""

    def __init__(self) -> None:
        self.signum: Optional[int] = None
        self._previous: dict[int, Any] = {}

    def install(self) -> "StopFlag":
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not in the main thread (e.g. called from a notebook worker)
                pass
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum == signal.SIGINT and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = signum

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def agreed(self, accelerator: Accelerator, step: int) -> bool:
        """True on every process once any process got a signal.

        Distributed runs agree through a tiny all-reduce every ``MULTI_PROCESS_CHECK_STEPS`` steps
        rather than every step: reading the result back is a host sync that would stop the CPU
        from queueing the next step while the accelerator works.
        """
        if accelerator.num_processes == 1:
            return self.signum is not None
        if step % MULTI_PROCESS_CHECK_STEPS != 0:
            return False
        flag = torch.tensor([1.0 if self.signum is not None else 0.0], device=accelerator.device)
        return bool(accelerator.reduce(flag, reduction="sum").item() > 0)

    @property
    def exit_code(self) -> int:
        return 128 + int(self.signum) if self.signum is not None else 0


def _adam(params, lr: float, cfg: TrainConfig) -> torch.optim.Optimizer:
    """Adam with the fused kernel where torch has one for the device (CPU and CUDA), else foreach."""
    kwargs = dict(lr=lr, betas=(cfg.adam_beta1, cfg.adam_beta2))
    params = list(params)
    try:
        return torch.optim.Adam(params, fused=True, **kwargs)
    except (RuntimeError, ValueError):
        return torch.optim.Adam(params, foreach=True, **kwargs)


def _distributed_cpu_run() -> bool:
    """True for a multi-process launch on a machine without CUDA.

    ``accelerate launch --cpu`` starts a single process unless mpirun is set up, so CPU multi-process
    runs come from ``accelerate launch --multi_gpu`` or ``torchrun``; accelerate then only picks
    the gloo backend when told that this is a CPU run.
    """
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available()


def _tracker_config(cfg: TrainConfig) -> dict[str, Any]:
    """Trackers (TensorBoard hparams) accept scalars only."""
    return {k: v for k, v in cfg.to_dict().items() if isinstance(v, (int, float, str, bool))}


class Trainer:
    """Holds the run's state; :meth:`run` trains and writes the checkpoint directory."""

    def __init__(self, cfg: TrainConfig, command: Optional[str] = None, data: Optional[TrainData] = None):
        self.cfg = cfg
        self.data = data  # normally loaded in setup(); benchmarks pass synthetic data
        self.command = command or command_line()
        self.out = Path(cfg.output_dir)
        ensure_writable_dir(self.out)  # before minutes of data decoding and training, not after
        self.family: Family = get_family(cfg.family)
        self.family.check_config(cfg)
        self.accelerator = Accelerator(
            cpu=_distributed_cpu_run(),
            mixed_precision=cfg.mixed_precision,
            log_with=cfg.trackers,
            project_config=ProjectConfiguration(project_dir=str(self.out), logging_dir=str(self.out / "logs")),
        )
        self.is_main = self.accelerator.is_main_process
        self.device = self.accelerator.device
        self.progress = TrainingProgress()
        self.resumed_from: Optional[Path] = None
        self.stop = StopFlag()
        self._session_start = time.monotonic()
        self._wall_at_resume = 0.0
        self._output_generator: Optional[tuple[int, nn.Module]] = None  # (step, EMA G as saved)

    def log(self, message: str) -> None:
        self.accelerator.print(f"[train] {message}")

    # --- setup ------------------------------------------------------------------------------
    def setup(self) -> None:
        cfg, acc = self.cfg, self.accelerator
        if self.data is None:
            with acc.main_process_first():  # the main process decodes; the others then read its cache
                self.data = load_data(cfg, log=self.log)
        set_seed(cfg.seed)  # identical initial weights on every process and in every run of this config
        G = self.family.build_generator(cfg, self.data)
        D = self.family.build_discriminator(cfg, self.data)
        ema = copy.deepcopy(G).requires_grad_(False).eval()
        check_same_structure(ema, G)
        if cfg.channels_last:
            for model in (G, D, ema):
                model.to(memory_format=torch.channels_last)
        opt_g = _adam(G.parameters(), cfg.lr_g, cfg)
        opt_d = _adam((p for p in D.parameters() if p.requires_grad), cfg.lr_d, cfg)  # a projected D's feature network is frozen
        self.G, self.D, self.opt_g, self.opt_d = acc.prepare(G, D, opt_g, opt_d)
        # Registered as a model so save_state/load_state keep it (as safetensors); evaluation
        # mode, because it is never trained and DDP refuses modules without gradients.
        self.ema = acc.prepare_model(ema, evaluation_mode=True)
        acc.register_for_checkpointing(self.progress)
        self.G_raw = acc.unwrap_model(self.G)
        self.D_raw = acc.unwrap_model(self.D)
        self.ema_raw = acc.unwrap_model(self.ema)
        self.sampler = BatchSampler(
            self.data.train_idx, cfg.batch_size, acc.num_processes, acc.process_index, cfg.seed
        )
        self.fixed = self.family.fixed_inputs(self.G_raw, self.data, cfg.num_sample_images)
        self.samples_dir = self.out / "samples"

        if self.is_main:
            for path in remove_partials(self.out):
                self.log(f"removed {path}, left by a save that did not finish")
        acc.wait_for_everyone()
        resume = self.resumed_from = resolve_resume(self.out, cfg.resume_from_checkpoint, log=self.log)
        if cfg.resume_from_checkpoint and resume is None:
            self.log(f"no checkpoint in {self.out / 'checkpoints'} to resume from; starting from step 0")
        if resume is not None:
            acc.load_state(str(resume))
            self._wall_at_resume = self.progress.wall_time_seconds
            self.log(f"resumed from {resume} at step {self.progress.step}")
        if cfg.trackers:
            acc.init_trackers(cfg.tracker_project_name, config=_tracker_config(cfg))

    # --- one step ---------------------------------------------------------------------------
    def _context(self, step: int) -> StepContext:
        seed = step_seed(self.cfg.seed, step, self.accelerator.process_index)
        torch.manual_seed(seed)  # dropout, StyleGAN noise inputs and anything else inside the models
        rng = torch.Generator().manual_seed(seed ^ 0x5DEECE66D)
        device_rng = None
        if self.device.type != "cpu":
            device_rng = torch.Generator(device=self.device).manual_seed(seed ^ 0x2545F491)
        r1 = lazy_r1_weight(self.cfg.r1_gamma, self.cfg.r1_interval, step)
        return StepContext(self.G, self.G_raw, self.D, self.D_raw, self.cfg, step, rng, self.device, r1, device_rng)

    def _phase(self, model: nn.Module, optimizer, loss_fn, batches, sums: dict[str, torch.Tensor]) -> None:
        """Accumulate gradients over the micro-batches (syncing DDP only on the last), then step."""
        acc, k = self.accelerator, len(batches)
        optimizer.zero_grad(set_to_none=True)
        for j, batch in enumerate(batches):
            sync = contextlib.nullcontext() if j == k - 1 else acc.no_sync(model)
            with sync:
                with acc.autocast():
                    loss, logs = loss_fn(batch)
                acc.backward(loss / k)
            for key, value in logs.items():
                sums[key] = sums.get(key, 0.0) + value.float() / k
        optimizer.step()

    def train_step(self, step: int, sums: dict[str, torch.Tensor]) -> None:
        cfg = self.cfg
        ctx = self._context(step)
        accum = cfg.gradient_accumulation_steps
        batches = [
            make_batch(self.data, self.sampler(step * accum + j), self.device, ctx.rng, cfg.hflip, cfg.channels_last,
                       cfg.mismatch_same_group, cfg.mismatch_counterfactual, cfg.wording_noise)
            for j in range(accum)
        ]
        self.D_raw.requires_grad_(True)
        self._phase(self.D, self.opt_d, lambda b: self.family.d_loss(ctx, b), batches, sums)
        self.D_raw.requires_grad_(False)  # G's phase backpropagates through D without filling D's grads
        self._phase(self.G, self.opt_g, lambda b: self.family.g_loss(ctx, b), batches, sums)
        self.D_raw.requires_grad_(True)
        ema_update(self.ema_raw, self.G_raw, ema_decay_at(step, cfg.ema_decay, cfg.ema_warmup))

    # --- periodic work ----------------------------------------------------------------------
    def _flush_logs(self, sums: dict[str, torch.Tensor], count: int, step: int, images_per_sec: float, bar) -> None:
        """One device->host sync per logging interval, averaged over processes."""
        if not sums or count == 0:
            return
        keys = sorted(sums)
        values = self.accelerator.reduce(torch.stack([sums[k] for k in keys]).detach(), reduction="mean")
        values = (values / count).tolist()
        row = {"step": step, **{k: round(v, 6) for k, v in zip(keys, values)}}
        row["d_loss"] = round(sum(v for k, v in zip(keys, values) if k.startswith("d_") or k == "r1"), 6)
        row["g_loss"] = round(sum(v for k, v in zip(keys, values) if not (k.startswith("d_") or k == "r1")), 6)
        self.progress.loss_history.append(row)
        self.accelerator.log({**{k: v for k, v in row.items() if k != "step"}, "images_per_sec": images_per_sec}, step=step)
        if bar is not None:
            bar.set_postfix(d=f"{row['d_loss']:.3f}", g=f"{row['g_loss']:.3f}", refresh=False)

    def save_samples(self, step: int, path: Optional[Path] = None) -> Path:
        images, ncol = self.family.sample_grid(self.output_generator(), self.fixed, self.device)
        path = path or pictures.grid_path(self.samples_dir, step)
        pictures.save_grid(images, ncol, path)
        if "captions" in self.fixed:
            (self.samples_dir / "captions.txt").write_text("\n".join(self.fixed["captions"]) + "\n")
        return path

    def evaluate(self, step: int) -> dict[str, Any]:
        result = fid_kid(self.family, self.output_generator(), self.data, self.cfg, self.device, step, self.log)
        if result.get("fid") is not None:
            scores = {k: result[k] for k in ("fid", "kid_mean", "precision", "recall", "diversity") if result.get(k) is not None}
            self.accelerator.log(scores, step=step)
            self.log(f"step {step}: " + ", ".join(f"{k} {v:.4g}" for k, v in scores.items()))
        return result

    def output_generator(self) -> nn.Module:
        """The EMA generator as it is sampled, evaluated and saved.

        BatchNorm layers get running statistics measured on the EMA weights themselves (a copy;
        the training state is untouched). The statistics :func:`ema_update` copies from the live
        generator describe other weights, and with them EMA samples come out washed-out or dark.
        Made once per step: a step that writes samples, metrics and the final export reuses it.
        """
        step = self.progress.step
        if self._output_generator is None or self._output_generator[0] != step:
            model = refreshed_batchnorm(self.ema_raw, self.family.fid_generate_fn, self.data, self.device, self.cfg.seed)
            self._output_generator = (step, model)
        return self._output_generator[1]

    def wall_time(self) -> float:
        return self._wall_at_resume + (time.monotonic() - self._session_start)

    def save_checkpoint(self, step: int) -> Path:
        """All processes call this (accelerate writes per-process RNG files).

        Saved under a temporary name and renamed when every process is done, so a kill mid-save
        never leaves a ``checkpoint-<step>`` that resume would pick; old ones are pruned only after.
        """
        path, partial = checkpoint_path(self.out, step), partial_path(self.out, step)
        self.progress.wall_time_seconds = self.wall_time()
        self.accelerator.wait_for_everyone()
        self.accelerator.save_state(str(partial))
        self.accelerator.wait_for_everyone()
        if self.is_main:
            finalize_checkpoint(partial, path)
            prune_checkpoints(self.out, self.cfg.checkpoints_total_limit)
        self.accelerator.wait_for_everyone()
        return path

    @staticmethod
    def _due(step: int, every: int) -> bool:
        return every > 0 and step % every == 0

    # --- the run ----------------------------------------------------------------------------
    def run(self) -> int:
        """Train to ``max_steps`` (or a signal) and write outputs; returns the process exit code."""
        cfg, acc = self.cfg, self.accelerator
        self.setup()
        self.stop.install()
        try:
            start = self.progress.step
            bar = tqdm(
                total=cfg.max_steps, initial=start, desc=f"{cfg.family}", unit="step",
                disable=not (self.is_main and cfg.progress_bar), dynamic_ncols=True,
            )
            sums: dict[str, torch.Tensor] = {}
            count, t_log = 0, time.monotonic()
            images_per_step = cfg.batch_size * cfg.gradient_accumulation_steps * acc.num_processes
            last_ckpt = start if self.resumed_from is not None else -1  # that checkpoint already holds `start`
            step = start
            while step < cfg.max_steps:
                self.G.train()
                self.D.train()
                self.train_step(step, sums)
                step += 1
                count += 1
                self.progress.step = step
                bar.update(1)
                if self._due(step, cfg.logging_steps) or step == cfg.max_steps:
                    elapsed = max(time.monotonic() - t_log, 1e-9)
                    self._flush_logs(sums, count, step, count * images_per_step / elapsed, bar)
                    sums, count, t_log = {}, 0, time.monotonic()
                if self.is_main and self._due(step, cfg.sample_steps):
                    self.save_samples(step)
                if self.is_main and self._due(step, cfg.eval_steps) and cfg.compute_metrics:
                    self.progress.metrics_history.append(self.evaluate(step))
                stopping = self.stop.agreed(acc, step)
                if self._due(step, cfg.checkpointing_steps) or stopping:
                    self.save_checkpoint(step)
                    last_ckpt = step
                if stopping:
                    bar.close()
                    self.log(f"stopped by signal {self.stop.signum} at step {step}; checkpoint in {checkpoint_path(self.out, step)}")
                    if self.is_main:  # cheap, and makes an interrupted run inspectable; the checkpoint is already safe
                        self.write_progress_pictures()
                    acc.end_training()
                    return self.stop.exit_code
            bar.close()
            if last_ckpt != step:  # always leave a resumable checkpoint at the final step
                self.save_checkpoint(step)
            if self.is_main:
                self.finish(step)
            acc.wait_for_everyone()
            acc.end_training()
            return 0
        finally:
            self.stop.restore()

    # --- the checkpoint directory ---------------------------------------------------------
    def write_progress_pictures(self) -> None:
        pictures.write_progress_gif(self.samples_dir)
        pictures.plot_loss_curves(self.progress.loss_history, self.samples_dir / "loss_curves.png")

    def export_generator(self) -> nn.Module:
        """A clean CPU float32 copy of the EMA generator (contiguous weights, as safetensors needs)."""
        G = copy.deepcopy(self.output_generator())
        # Training keeps fp32 master weights (mixed precision is autocast), so no dtype cast is needed.
        return G.to("cpu").to(memory_format=torch.contiguous_format).eval()

    def finish(self, step: int) -> None:
        cfg, out = self.cfg, self.out
        self.samples_dir.mkdir(parents=True, exist_ok=True)
        # The final grid is also the last GIF frame, so the GIF ends where training ended.
        final = self.save_samples(step, self.samples_dir / "final_grid.png")
        step_grid = pictures.grid_path(self.samples_dir, step)
        if not step_grid.exists():
            step_grid.write_bytes(final.read_bytes())
        self.write_progress_pictures()

        pipeline = self.family.make_pipeline(self.export_generator())
        pipeline.save_pretrained(str(out), safe_serialization=True)
        save_config(cfg, out / "training_config.yaml")

        history = list(self.progress.metrics_history)
        final_metrics = empty_metrics(step)
        if cfg.compute_metrics:
            done = [h for h in history if h["step"] == step]
            final_metrics = done[-1] if done else self.evaluate(step)
            if not done:
                history.append(final_metrics)
        # Paired metrics (sketch-to-photo) are cheap, so they are always computed, on held-out pairs.
        extra = paired(self.family, self.output_generator(), self.data, self.device)
        if extra:
            extra["paired_split"] = "heldout"
        write_metrics(out / "metrics.json", final_metrics, history, extra)

        write_summary(
            out / "training_summary.json",
            cfg,
            task=self.family.task(self.data),
            resolution=data_resolution(cfg),
            steps=step,
            wall_time_seconds=self.wall_time(),
            hardware=hardware_string(self.device, self.accelerator.num_processes),
            num_processes=self.accelerator.num_processes,
            command=self.command,
            dataset=describe(self.data, cfg),
            # Only a generator that takes a class has class pickers; a label used by D's auxiliary
            # classifier alone (pix2pix, textgan) is not an input of the model.
            class_names=self.data.class_names if getattr(self.G_raw.config, "num_classes", 0) else None,
        )
        if cfg.model_card:
            self._write_card()
        if cfg.push_to_hub:
            from training.publish import publish_checkpoint

            url = publish_checkpoint(str(out), cfg.hub_model_id, private=cfg.hub_private, revision=cfg.hub_revision)
            self.log(f"published to {url}")
        self.log(f"done: {step} steps; checkpoint directory {out}")

    def _write_card(self) -> None:
        """The card is a convenience on top of the written files, so its failure must not fail the run."""
        try:
            from model_cards.render import write_model_card
        except ImportError as err:
            self.log(f"model card skipped: model_cards.render is not importable ({err})")
            return
        try:
            write_model_card(str(self.out), repo_id=self.cfg.hub_model_id)
        except Exception as err:  # noqa: BLE001 - reported, and everything else is already on disk
            self.log(f"model card not written: {type(err).__name__}: {err}")


def train(cfg: TrainConfig, command: Optional[str] = None) -> int:
    """Run a training job described by ``cfg``; returns the exit code (0, or 130/143 after a signal)."""
    return Trainer(cfg, command).run()
