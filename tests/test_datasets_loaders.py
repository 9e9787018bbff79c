"""Readers of survey formats: synthetic files written to tmp_path must round-trip exactly."""
import os

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from PIL import Image

from galaxy_learn.datasets import (
    load_fits_cutouts,
    load_galaxy_zoo,
    load_galaxy_zoo_catalog,
    load_sdss_npy,
)

LABELED = [("objID", "<i8"), ("image", "<f4", (5, 8, 8)), ("class", "<U6"), ("z", "<f8")]
SHAPE = (5, 8, 8)


def _write_labeled(directory, counts, *, seed=0, class_dtype="<U6"):
    """Files with `counts[k]` records each; returns the concatenated truth."""
    rng = np.random.default_rng(seed)
    dtype = [(n, class_dtype) if n == "class" else (n, *rest) for n, *rest in LABELED]
    dtype = [tuple(d) for d in dtype]
    truth = []
    for k, count in enumerate(counts):
        rec = np.zeros(count, dtype=dtype)
        rec["objID"] = 1000 * k + np.arange(count)
        rec["image"] = rng.normal(size=(count,) + SHAPE)
        rec["class"] = np.array(["STAR", "GALAXY", "QSO"])[rng.integers(0, 3, count)]
        rec["z"] = rng.uniform(0, 1, count)
        np.save(directory / f"f{k:03d}.npy", rec)
        truth.append(rec)
    return np.concatenate(truth)


@pytest.mark.parametrize("class_dtype", ["<U6", "S6"])
@pytest.mark.parametrize("n_jobs", [1, 3])
def test_sdss_labeled_round_trip(tmp_path, class_dtype, n_jobs):
    truth = _write_labeled(tmp_path, [1, 3, 2], class_dtype=class_dtype)
    X, y, meta = load_sdss_npy(tmp_path, image_shape=SHAPE, n_jobs=n_jobs)
    assert X.dtype == np.float32 and X.shape == (6,) + SHAPE
    np.testing.assert_array_equal(X, truth["image"])
    expected = [c.decode() if isinstance(c, bytes) else c for c in truth["class"]]
    assert y.tolist() == expected
    np.testing.assert_array_equal(meta["objID"], truth["objID"])
    np.testing.assert_array_equal(meta["z"], truth["z"])
    assert meta["index_in_file"].tolist() == [0, 0, 1, 2, 0, 1]
    assert meta["file"].tolist()[:2] == [str(tmp_path / "f000.npy"), str(tmp_path / "f001.npy")]


def test_sdss_classes_filter_and_no_meta(tmp_path):
    truth = _write_labeled(tmp_path, [4, 4, 4])
    X, y = load_sdss_npy(tmp_path, image_shape=SHAPE, classes=["STAR"], return_meta=False)
    keep = truth["class"] == "STAR"
    np.testing.assert_array_equal(X, truth["image"][keep])
    assert set(y) == {"STAR"} and len(y) == keep.sum()


def test_sdss_unlabeled_formats(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.normal(size=(3,) + SHAPE).astype(np.float32)
    zero_d = np.zeros((), dtype=[("image", "<f4", SHAPE)])
    zero_d["image"] = images[0]
    np.save(tmp_path / "a.npy", zero_d)
    one = np.zeros(1, dtype=[("image", "<f8", SHAPE)])  # float64 on disk
    one["image"] = images[1]
    np.save(tmp_path / "b.npy", one)
    plain_dir = tmp_path / "plain"
    plain_dir.mkdir()
    np.save(plain_dir / "c.npy", images[2])
    X, y, meta = load_sdss_npy(tmp_path, image_shape=None)
    assert y is None and list(meta.columns) == ["file", "index_in_file"]
    np.testing.assert_array_equal(X, images[:2])
    X, y, _ = load_sdss_npy(plain_dir / "c.npy", image_shape=SHAPE)
    np.testing.assert_array_equal(X[0], images[2])


def test_sdss_list_glob_and_order(tmp_path):
    truth = _write_labeled(tmp_path, [1, 1, 1])
    files = [tmp_path / "f002.npy", tmp_path / "f000.npy"]
    X, _, _ = load_sdss_npy(files, image_shape=SHAPE)
    np.testing.assert_array_equal(X, truth["image"][[2, 0]])
    X, _, _ = load_sdss_npy(str(tmp_path / "f00[01].npy"), image_shape=SHAPE)
    np.testing.assert_array_equal(X, truth["image"][:2])


def test_sdss_object_arrays_need_allow_pickle(tmp_path):
    rng = np.random.default_rng(2)
    recs = np.empty(2, dtype=object)
    recs[:] = [
        {"objID": 5, "image": rng.normal(size=SHAPE), "class": "GALAXY", "z": 0.1},
        {"objID": 6, "image": rng.normal(size=SHAPE), "class": "STAR", "z": 0.0},
    ]
    np.save(tmp_path / "obj.npy", recs, allow_pickle=True)
    with pytest.raises(ValueError, match=r"obj\.npy.*allow_pickle=False.*unpickling"):
        load_sdss_npy(tmp_path, image_shape=SHAPE)
    X, y, meta = load_sdss_npy(tmp_path, image_shape=SHAPE, allow_pickle=True)
    np.testing.assert_allclose(X[1], recs[1]["image"].astype(np.float32))
    assert y.tolist() == ["GALAXY", "STAR"] and meta["objID"].tolist() == [5, 6]


def test_sdss_bad_files_name_the_file(tmp_path):
    _write_labeled(tmp_path, [2, 2])
    path = tmp_path / "f001.npy"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])
    with pytest.raises(ValueError, match=r"f001\.npy.*truncated"):
        load_sdss_npy(tmp_path, image_shape=SHAPE)
    path.write_bytes(b"not a numpy file at all")
    with pytest.raises(ValueError, match=r"f001\.npy.*not a \.npy"):
        load_sdss_npy(tmp_path, image_shape=SHAPE)
    path.unlink()
    with pytest.raises(ValueError, match=r"f000\.npy.*shape \(5, 8, 8\); expected \(5, 64, 64\)"):
        load_sdss_npy(tmp_path)
    np.save(tmp_path / "f009.npy", np.zeros(1, dtype=[("image", "<f4", SHAPE)]))
    with pytest.raises(ValueError, match=r"f009\.npy.*cannot be mixed"):
        load_sdss_npy(tmp_path, image_shape=SHAPE)
    with pytest.raises(FileNotFoundError, match="No files"):
        load_sdss_npy(tmp_path, pattern="*.npz")


def test_sdss_nan_pixels(tmp_path):
    truth = _write_labeled(tmp_path, [1, 2])
    rec = np.load(tmp_path / "f001.npy")
    rec["image"][1, 2, 3, :3] = np.nan
    np.save(tmp_path / "f001.npy", rec)
    with pytest.raises(ValueError, match=r"f001\.npy.*3 NaN/inf pixel"):
        load_sdss_npy(tmp_path, image_shape=SHAPE)
    X, _, _ = load_sdss_npy(tmp_path, image_shape=SHAPE, allow_nan=True)
    assert np.isnan(X).sum() == 3
    np.testing.assert_array_equal(X[0], truth["image"][0])


def test_sdss_lazy_memmap_cache(tmp_path):
    data, cache = tmp_path / "data", tmp_path / "cache"
    data.mkdir()
    truth = _write_labeled(data, [2, 1, 3])
    X, y, meta = load_sdss_npy(data, image_shape=SHAPE, lazy=True, cache_dir=cache)
    assert isinstance(X, np.memmap) and not X.flags.writeable
    np.testing.assert_array_equal(X, truth["image"])
    assert len(list(cache.glob("*.npy"))) == 1
    X2, y2, meta2 = load_sdss_npy(data, image_shape=SHAPE, lazy=True, cache_dir=cache)
    assert X2.filename == X.filename  # reused
    np.testing.assert_array_equal(y2, y)
    pd.testing.assert_frame_equal(meta2, meta)
    # Changing a file invalidates the cache.
    rec = np.load(data / "f000.npy")
    rec["image"] += 1
    np.save(data / "f000.npy", rec)
    os.utime(data / "f000.npy", ns=(1, 1))
    X3, _, _ = load_sdss_npy(data, image_shape=SHAPE, lazy=True, cache_dir=cache)
    assert X3.filename != X.filename
    assert len(list(cache.glob("*.npy"))) == 1  # the stale version was removed
    np.testing.assert_array_equal(X3[:2], truth["image"][:2] + 1)
    # A failure leaves no half-written cache behind.
    (data / "f001.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(ValueError, match="f001"):
        load_sdss_npy(data, image_shape=SHAPE, lazy=True, cache_dir=cache)
    assert not list(cache.glob("*.tmp.npy"))


# ----------------------------------------------------------------------------------- FITS
def _cube(seed, shape=SHAPE):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def test_fits_cube_per_object(tmp_path):
    cubes = [_cube(0), _cube(1)]
    for k, cube in enumerate(cubes):
        hdu = fits.PrimaryHDU(cube)
        hdu.header["BUNIT"] = "nanomaggy"
        hdu.writeto(tmp_path / f"obj{k}.fits")
    X, meta = load_fits_cutouts(tmp_path)
    np.testing.assert_array_equal(X, np.stack(cubes))
    assert meta["id"].tolist() == ["obj0", "obj1"] and set(meta["bunit"]) == {"nanomaggy"}


def test_fits_mef_band_keywords_order_and_units(tmp_path):
    cube = _cube(3)
    order = [3, 0, 4, 1, 2]  # written shuffled, identified by FILTER
    hdus = [fits.PrimaryHDU()]
    for k in order:
        hdr = fits.Header({"FILTER": "ugriz"[k], "BUNIT": "maggy"})
        hdus.append(fits.ImageHDU(cube[k] * 1e-9, header=hdr))
    fits.HDUList(hdus).writeto(tmp_path / "mef.fits")
    X, meta = load_fits_cutouts(tmp_path / "mef.fits")
    np.testing.assert_allclose(X[0], cube, rtol=1e-6)  # maggies -> nanomaggies
    X_raw = load_fits_cutouts(tmp_path / "mef.fits", convert_units=False, return_meta=False)
    np.testing.assert_allclose(X_raw[0], cube * 1e-9, rtol=1e-6)
    # Without band keywords the HDU order is the band order.
    plain = fits.HDUList([fits.PrimaryHDU(cube[0])] + [fits.ImageHDU(c) for c in cube[1:]])
    plain.writeto(tmp_path / "plain.fits")
    X, _ = load_fits_cutouts([tmp_path / "plain.fits"], layout="mef")
    np.testing.assert_array_equal(X[0], cube)


def test_fits_psf_width_from_headers(tmp_path):
    """PSF keywords become psf_fwhm_<band> columns: per band (MEF, per-band files), from the
    primary header for a cube, NaN where a file has none; absent without any PSF keyword."""
    cube = _cube(8)
    hdus = [fits.PrimaryHDU(header=fits.Header({"SEEING": 9.9}))]
    for k in range(5):  # per-band PSF_FWHM beats the primary SEEING; z falls back to it
        hdr = {"FILTER": "ugriz"[k]} | ({"PSF_FWHM": 1.0 + 0.1 * k} if k < 4 else {})
        hdus.append(fits.ImageHDU(cube[k], header=fits.Header(hdr)))
    fits.HDUList(hdus).writeto(tmp_path / "a.fits")
    prim = fits.PrimaryHDU(cube)
    prim.header["SEEING"] = 1.4
    prim.writeto(tmp_path / "b.fits")
    fits.PrimaryHDU(cube).writeto(tmp_path / "c.fits")
    _, meta = load_fits_cutouts(tmp_path)
    cols = [f"psf_fwhm_{b}" for b in "ugriz"]
    np.testing.assert_allclose(meta.loc[0, cols].to_numpy(float), [1.0, 1.1, 1.2, 1.3, 9.9])
    np.testing.assert_allclose(meta.loc[1, cols].to_numpy(float), [1.4] * 5)
    assert meta.loc[2, cols].isna().all()
    for k, band in enumerate("ugriz"):
        hdr = fits.Header({"FWHM": 3.0 + k})
        fits.PrimaryHDU(cube[k], header=hdr).writeto(tmp_path / f"obj_{band}.fits")
    _, meta = load_fits_cutouts(sorted(tmp_path.glob("obj_*.fits")))
    np.testing.assert_allclose(meta.loc[0, cols].to_numpy(float), [3, 4, 5, 6, 7])
    _, meta = load_fits_cutouts(tmp_path / "c.fits")
    assert not any(c.startswith("psf_fwhm") for c in meta.columns)


def test_fits_mef_missing_band(tmp_path):
    cube = _cube(4)
    hdus = [fits.PrimaryHDU()] + [
        fits.ImageHDU(cube[k], header=fits.Header({"FILTER": "ugriz"[k]})) for k in range(4)
    ]
    fits.HDUList(hdus).writeto(tmp_path / "noz.fits")
    with pytest.raises(ValueError, match=r"noz\.fits.*missing band\(s\) \['z'\]"):
        load_fits_cutouts(tmp_path)


@pytest.mark.parametrize("sep", ["_", "-", "."])
def test_fits_one_file_per_band(tmp_path, sep):
    cubes = {"1237": _cube(5), "1238": _cube(6)}
    for obj_id, cube in cubes.items():
        for k, band in enumerate("ugriz"):
            fits.PrimaryHDU(cube[k]).writeto(tmp_path / f"{obj_id}{sep}{band}.fits")
    X, meta = load_fits_cutouts(tmp_path)
    np.testing.assert_array_equal(X, np.stack([cubes["1237"], cubes["1238"]]))
    assert meta["id"].tolist() == ["1237", "1238"]
    assert meta["file"][0].split(";")[2].endswith(f"1237{sep}r.fits")
    (tmp_path / f"1238{sep}i.fits").unlink()
    with pytest.raises(ValueError, match=r"'1238' is missing band\(s\) \['i'\]"):
        load_fits_cutouts(tmp_path)


def test_fits_bad_files(tmp_path):
    good = _cube(7)
    fits.PrimaryHDU(good).writeto(tmp_path / "a.fits")
    bad = good.copy()
    bad[1, 2, 2] = np.nan
    fits.PrimaryHDU(bad).writeto(tmp_path / "b.fits")
    with pytest.raises(ValueError, match=r"b\.fits.*1 NaN/inf pixel"):
        load_fits_cutouts(tmp_path)
    X, _ = load_fits_cutouts(tmp_path, allow_nan=True)
    assert np.isnan(X).sum() == 1
    fits.PrimaryHDU(_cube(8, (5, 6, 6))).writeto(tmp_path / "c.fits")
    with pytest.raises(ValueError, match=r"c\.fits.*shape \(5, 6, 6\)"):
        load_fits_cutouts(tmp_path, allow_nan=True)
    (tmp_path / "c.fits").write_bytes(b"SIMPLE  =  garbage" * 10)
    with pytest.raises(ValueError, match=r"c\.fits"):
        load_fits_cutouts(tmp_path, allow_nan=True)
    fits.PrimaryHDU(_cube(9, (4, 8, 8))).writeto(tmp_path / "d.fits")
    with pytest.raises(ValueError, match=r"d\.fits.*cube has shape \(4, 8, 8\)"):
        load_fits_cutouts([tmp_path / "d.fits"])
    with pytest.raises(ValueError, match="layout"):
        load_fits_cutouts(tmp_path, layout="bogus")


# ----------------------------------------------------------------------------- Galaxy Zoo
def _write_zoo(directory, ids):
    """424x424 JPGs: a white central 212x212 square on black, tinted per galaxy."""
    for k, gid in enumerate(ids):
        arr = np.zeros((424, 424, 3), np.uint8)
        arr[106:318, 106:318] = (255, 255 - 40 * k, 255)
        Image.fromarray(arr).save(directory / f"{gid}.jpg", quality=95)


def test_galaxy_zoo_labels_and_images(tmp_path):
    ids = [100008, 100023, 100053, 100078]
    _write_zoo(tmp_path, ids)
    sol = pd.DataFrame(
        {
            "GalaxyID": ids,
            "Class1.1": [0.6, 0.2, 0.1, 0.5],
            "Class1.2": [0.3, 0.7, 0.2, 0.5],
            "Class1.3": [0.1, 0.1, 0.7, 0.0],
            "Class2.1": [0.0, 0.1, 0.0, 0.2],
        }
    )
    csv = tmp_path / "training_solutions_rev1.csv"
    sol.to_csv(csv, index=False)
    X, y, meta = load_galaxy_zoo(tmp_path, csv, image_size=32)
    assert X.shape == (4, 3, 32, 32) and X.dtype == np.float32
    assert 0.0 <= X.min() and X.max() <= 1.0
    # elliptical = Class1.1 (smooth), spiral = Class1.2 (features/disk), irregular = Class1.3;
    # the tie in the last row goes to the first column.
    assert y.tolist() == ["elliptical", "spiral", "irregular", "elliptical"]
    assert meta["GalaxyID"].tolist() == ids and "Class2.1" in meta
    assert X[0, :, 16, 16] == pytest.approx([1.0, 1.0, 1.0], abs=0.02)
    assert X[0, :, 1, 1] == pytest.approx([0.0, 0.0, 0.0], abs=0.02)
    assert X[1, 1, 16, 16] == pytest.approx(215 / 255, abs=0.02)
    X_crop, _, _ = load_galaxy_zoo(tmp_path, csv, image_size=16, crop=180)
    assert X_crop[0].min() > 0.9  # inside the white square only (JPEG ringing at its edge)
    X2, y2, meta2 = load_galaxy_zoo(tmp_path, sol, image_size=32, drop_irregular=True)
    assert y2.tolist() == ["elliptical", "spiral", "elliptical"]
    np.testing.assert_array_equal(X2, X[[0, 1, 3]])
    assert meta2["GalaxyID"].tolist() == [100008, 100023, 100078]


def test_galaxy_zoo_catalog_format(tmp_path):
    sub = tmp_path / "imgs"
    sub.mkdir()
    _write_zoo(sub, ["a", "b"])
    table = pd.DataFrame(
        {"img": ["imgs/a.jpg", "imgs/b.jpg"], "p_smooth": [0.2, 0.9], "p_disk": [0.8, 0.1]}
    )
    table.to_csv(tmp_path / "cat.csv", index=False)
    X, y, meta = load_galaxy_zoo_catalog(
        tmp_path / "cat.csv",
        image_column="img",
        vote_columns=["p_smooth", "p_disk"],
        label_names=["elliptical", "spiral"],
        image_size=8,
        n_samples=1,
    )
    assert X.shape == (1, 3, 8, 8) and y.tolist() == ["spiral"]
    assert meta["file"][0] == str(tmp_path / "imgs/a.jpg")
    X, y, _ = load_galaxy_zoo_catalog(
        table, image_column="img", vote_columns=["p_smooth", "p_disk"],
        label_names=["elliptical", "spiral"], base_dir=tmp_path, image_size=8,
    )
    assert y.tolist() == ["spiral", "elliptical"]


def test_galaxy_zoo_bad_inputs(tmp_path):
    _write_zoo(tmp_path, [1, 2])
    (tmp_path / "2.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg")
    sol = pd.DataFrame({"GalaxyID": [1, 2], "Class1.1": [1, 0], "Class1.2": [0, 1],
                        "Class1.3": [0, 0]})
    with pytest.raises(ValueError, match=r"2\.jpg"):
        load_galaxy_zoo(tmp_path, sol)
    sol.loc[1, "GalaxyID"] = 3
    with pytest.raises(FileNotFoundError, match=r"3\.jpg"):
        load_galaxy_zoo(tmp_path, sol)
    with pytest.raises(ValueError, match="lacks column"):
        load_galaxy_zoo_catalog(sol, image_column="nope")
    with pytest.raises(ValueError, match="GalaxyID"):
        load_galaxy_zoo(tmp_path, sol.drop(columns="GalaxyID"))


def test_sdss_non_native_layouts_fall_back_to_converting_reads(tmp_path):
    """Big-endian records and Fortran-ordered plain arrays cannot be read in place."""
    rng = np.random.default_rng(3)
    dtype = [("objID", ">i8"), ("image", ">f4", SHAPE), ("class", "S6"), ("z", ">f8")]
    rec = np.zeros(2, dtype=dtype)
    rec["image"] = rng.normal(size=(2,) + SHAPE)
    rec["class"] = [b"QSO", b"STAR"]
    rec["objID"] = [7, 8]
    np.save(tmp_path / "be.npy", rec)
    X, y, meta = load_sdss_npy(tmp_path, image_shape=SHAPE, classes=["STAR"])
    np.testing.assert_array_equal(X, rec["image"][1:].astype(np.float32))
    assert y.tolist() == ["STAR"] and meta["objID"].tolist() == [8]
    fdir = tmp_path / "fortran"
    fdir.mkdir()
    images = np.asfortranarray(rng.normal(size=(3,) + SHAPE).astype(np.float32))
    np.save(fdir / "f.npy", images)
    X, y, _ = load_sdss_npy(fdir, image_shape=SHAPE)
    np.testing.assert_array_equal(X, images)


def test_fits_cube_band_keywords_select_and_reorder(tmp_path):
    """Legacy Survey style cube: BAND0..BAND2 = g, r, z; ask for z, g, r."""
    cube = _cube(10, (3, 8, 8))
    hdu = fits.PrimaryHDU(cube)
    for k, band in enumerate("grz"):
        hdu.header[f"BAND{k}"] = band
    hdu.writeto(tmp_path / "ls.fits")
    X, _ = load_fits_cutouts(tmp_path, bands="zgr")
    np.testing.assert_array_equal(X[0], cube[[2, 0, 1]])
    X, _ = load_fits_cutouts(tmp_path, bands="r")
    np.testing.assert_array_equal(X[0], cube[[1]])
    with pytest.raises(ValueError, match=r"ls\.fits.*missing band\(s\) \['i'\]"):
        load_fits_cutouts(tmp_path, bands="gri")
    packed = fits.PrimaryHDU(cube)
    packed.header["BANDS"] = "grz"
    packed.writeto(tmp_path / "ls.fits", overwrite=True)
    X, _ = load_fits_cutouts(tmp_path, bands="zrg")
    np.testing.assert_array_equal(X[0], cube[::-1])


def test_structured_array_with_object_fields_needs_and_uses_allow_pickle(tmp_path):
    rng = np.random.default_rng(0)
    dt = np.dtype([("objID", "i8"), ("image", "O"), ("class", "O"), ("z", "f8")])
    arr = np.empty(2, dtype=dt)
    images = rng.random((2, 5, 64, 64)).astype(np.float32)
    for i in range(2):
        arr[i] = (10 + i, images[i], ["STAR", "GALAXY"][i], 0.1 * i)
    np.save(tmp_path / "objects.npy", arr, allow_pickle=True)
    with pytest.raises(ValueError, match="allow_pickle"):
        load_sdss_npy(tmp_path)
    X, y, meta = load_sdss_npy(tmp_path, allow_pickle=True)
    np.testing.assert_array_equal(X, images)
    assert list(y) == ["STAR", "GALAXY"]
    assert list(meta["objID"]) == [10, 11]
