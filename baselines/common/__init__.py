"""The shared training kit of the trained baselines (docs/training.md).

split.py          the development split; check_unseen / seen_sequences for the report
trainer.py        TrainRecipe + Trainer: checkpoints, exact resume, signals, time window, loss log
checkpoint.py     the resumable training state (atomic), RNG capture/restore
losslog.py        losses.csv and its plot
cli.py            run_training(name): the Hydra entry of `python -m baselines.<name>.train`
sidecar.py        trained checkpoints + sidecar JSON (sha256, config, data, trained_on): write, verify, load
ship.py           `python -m baselines.common.ship`: copy a ≤16 MB checkpoint into hypercon/weights/trained/
strict_load.py    load_state_strict: the strict state-dict load of every ported network, errors naming the keys
videos.py         the training videos (DAVIS at a working size, optionally stylised by an Engstrom net), cached
perceptual.py     VGG16/19 ImageNet (paper), seeded random VGG (offline), pixel trunks and their distance
temporal_loss.py  masked MSE/L1 to the warped previous output; hard and Lai's soft visibility
gan.py            LSGAN/BCE losses, the image pool, the constant-then-linear LR schedule
example_recipe.py the worked example (conf/train/example.yaml)
"""
