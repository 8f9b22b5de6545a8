"""Feature extraction from raw media (``mifusion data extract``): audio, vision and text per clip.

Needs the optional extra ``pip install "mifusion[media]"`` (opensmile, librosa, imageio-ffmpeg, dlib-bin,
face-recognition-models). Importing this package imports none of them; each extractor imports its
library when it first runs.

Modules (column names and units of every extractor: :mod:`mifusion.data.feature_manifest`):
    ``decode``: audio and video decoding through the ffmpeg binary that imageio-ffmpeg ships.
    ``audio``: openSMILE (eGeMAPS, ComParE low-level descriptors) and librosa descriptors.
    ``vision``: dlib face detection and 68-point landmarks -> expression distances, head pose, presence.
    ``extract``: the clip loop (media lookup, per-clip cache, workers) and dataset assembly.
    ``run``: ``extract_dataset``, label.csv + a folder of clips -> a dataset and the skipped-clip report.
    ``predict``: one clip through a trained run, with the extraction settings of its training data.
"""
