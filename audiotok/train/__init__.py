"""The training kit and audiotok's two trainers (unit vocoders, hybrid codecs).

Imported only by training code: nothing on the inference path (``import audiotok``,
``audiotok.codecs``, ``audiotok.vocoders``, ``decode``) imports this package.

- :mod:`.vocoder` (``train_vocoder``, :mod:`.vocoder_config`, :mod:`.vocoder_data`,
  :mod:`.vocoder_task`) and :mod:`.hybrid` (``train_hybrid``, :mod:`.hybrid_config`,
  :mod:`.hybrid_data`, :mod:`.hybrid_task`, :mod:`.distill`): the two solvers.
- :mod:`.corpus`: the one corpus index both build (the pipeline's decode workers; audio and a
  per-frame array cached in ``OUT/data``); :mod:`.segments`: the one segment dataset and
  collate; :mod:`.config`: configs as dataclasses (JSON, overrides, what a resume may change).

- :mod:`.mpd`, :mod:`.msd`, :mod:`.mstft`: HiFi-GAN's multi-period and multi-scale
  discriminators and EnCodec's multi-scale STFT discriminator; :mod:`.multi` combines them.
- :mod:`.losses`: LSGAN discriminator/generator losses and feature matching;
  :mod:`.mel`: the multi-resolution mel loss.
- :mod:`.engine`: the GAN training loop (``GanTrainer``, ``TrainConfig``) with seeding,
  mixed precision, gradient clipping, LR decay, checkpoints and exact resume;
  :mod:`.checkpoint`, :mod:`.dist` (DDP under ``torchrun``), :mod:`.data` (step-indexed
  batches through ``DistributedSampler``), :mod:`.logs` (JSON lines, TensorBoard, progress),
  :mod:`.norms` (weight norm on and off).
"""
