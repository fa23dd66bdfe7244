"""The training kit shared by audiotok's trainers (unit vocoders, hybrid codecs).

Imported only by training code: nothing on the inference path (``import audiotok``,
``audiotok.vocoders``, ``decode``) imports this package.

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
