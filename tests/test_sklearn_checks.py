"""scikit-learn's estimator checks, with the known failures listed and explained."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skcryoal import CryoNetClassifier

# Nearly all of scikit-learn's checks feed 2-D tabular X of shape (n_samples,
# n_features); CryoNetClassifier takes stacks of volumes (n_samples, 1, D, H, W)
# and rejects 2-D input with a clear error, so those checks cannot pass.
_TABULAR = "uses 2-D tabular X; CryoNetClassifier takes volumes (n_samples, 1, D, H, W)"
_TABULAR_CHECKS = [
    "check_classifier_data_not_an_array",
    "check_classifiers_classes",
    "check_classifiers_one_label",
    "check_classifiers_one_label_sample_weights",
    "check_classifiers_regression_target",
    "check_classifiers_train",
    "check_complex_data",
    "check_decision_proba_consistency",
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_dtype_object",
    "check_estimator_sparse_array",
    "check_estimator_sparse_matrix",
    "check_estimator_sparse_tag",
    "check_estimators_dtypes",
    "check_estimators_empty_data_messages",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_estimators_partial_fit_n_features",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1feature",
    "check_fit2d_1sample",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
    "check_requires_y_none",
    "check_supervised_y_2d",
]
EXPECTED_FAILED_CHECKS = dict.fromkeys(_TABULAR_CHECKS, _TABULAR)
EXPECTED_FAILED_CHECKS["check_no_attributes_set_in_init"] = (
    "skorch's NeuralNet sets history_, initialized_ and routing attributes in __init__"
)


@parametrize_with_checks(
    [CryoNetClassifier(module__width=2, max_epochs=1, random_state=0)],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
