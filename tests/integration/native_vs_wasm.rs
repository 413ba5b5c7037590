//! The SDK's native harness and the wasm component must be the same environment: same
//! configs, same task statements, same observations for the same calls.

use codegym_env_sdk::testing::run_oracle;
use codegym_env_sdk::{Environment, Oracle, Session};
use codegym_host::{OraclePolicy, Policy};

use crate::registry;

fn same_behaviour<E: Environment, O: Oracle>() {
    let registry = registry();
    let env = registry.get(E::META.name).expect("component");
    assert_eq!(env.info(), &Session::<E>::info(), "info differs");
    for difficulty in [0, 50, 100] {
        for seed in 0..5 {
            let native = run_oracle::<E, O>(seed, difficulty);
            let config = env.sample_config(seed, difficulty).expect("config");
            assert_eq!(config, native.config, "seed {seed} difficulty {difficulty}: config differs");
            let mut episode = env.start(&config).expect("start");
            assert_eq!(episode.task(), native.task);
            for (index, (call, expected)) in native.transcript.iter().enumerate() {
                let step = episode.step(call);
                assert_eq!(
                    (&step.observation, step.reward, step.done),
                    (&expected.observation, expected.reward, expected.done),
                    "{} seed {seed} difficulty {difficulty} step {index}: {call}",
                    E::META.name
                );
            }
        }
    }
}

/// One test per crate in `envs/`: `environment-name => crate::{Environment, Oracle}`.
macro_rules! every_environment {
    ($($test:ident: $krate:ident::{$env:ident, $oracle:ident};)*) => {
        $(
            #[test]
            fn $test() {
                same_behaviour::<$krate::$env, $krate::$oracle>();
            }
        )*
        /// The crates checked, as their `envs/` directory names.
        pub(crate) const CHECKED: &[&str] = &[$(stringify!($test)),*];
    };
}

every_environment! {
    assign_cookies: codegym_env_assign_cookies::{AssignCookies, AssignCookiesOracle};
    binary_search: codegym_env_binary_search::{BinarySearch, BinarySearchOracle};
    coin_change: codegym_env_coin_change::{CoinChange, CoinChangeOracle};
    connected_components: codegym_env_connected_components::{ConnectedComponents, ConnectedComponentsOracle};
    count_evens: codegym_env_count_evens::{CountEvens, CountEvensOracle};
    dijkstra_shortest_path: codegym_env_dijkstra_shortest_path::{DijkstraShortestPath, DijkstraShortestPathOracle};
    edit_distance: codegym_env_edit_distance::{EditDistance, EditDistanceOracle};
    evaluate_rpn: codegym_env_evaluate_rpn::{EvaluateRpn, EvaluateRpnOracle};
    first_unique_character: codegym_env_first_unique_character::{FirstUniqueCharacter, FirstUniqueCharacterOracle};
    game_of_life: codegym_env_game_of_life::{GameOfLife, GameOfLifeOracle};
    gas_station: codegym_env_gas_station::{GasStation, GasStationOracle};
    gcd_lcm: codegym_env_gcd_lcm::{GcdLcm, GcdLcmOracle};
    grid_shortest_path: codegym_env_grid_shortest_path::{GridShortestPath, GridShortestPathOracle};
    hamming_distances: codegym_env_hamming_distances::{HammingDistances, HammingDistancesOracle};
    interval_intersections: codegym_env_interval_intersections::{IntervalIntersections, IntervalIntersectionsOracle};
    inversion_count: codegym_env_inversion_count::{InversionCount, InversionCountOracle};
    josephus: codegym_env_josephus::{Josephus, JosephusOracle};
    jump_game: codegym_env_jump_game::{JumpGame, JumpGameOracle};
    knapsack: codegym_env_knapsack::{Knapsack, KnapsackOracle};
    kth_smallest: codegym_env_kth_smallest::{KthSmallest, KthSmallestOracle};
    linked_list_cycle: codegym_env_linked_list_cycle::{LinkedListCycle, LinkedListCycleOracle};
    longest_common_prefix: codegym_env_longest_common_prefix::{LongestCommonPrefix, LongestCommonPrefixOracle};
    longest_common_subsequence: codegym_env_longest_common_subsequence::{LongestCommonSubsequence, LongestCommonSubsequenceOracle};
    longest_consecutive_sequence: codegym_env_longest_consecutive_sequence::{LongestConsecutiveSequence, LongestConsecutiveSequenceOracle};
    longest_increasing_subsequence: codegym_env_longest_increasing_subsequence::{LongestIncreasingSubsequence, LongestIncreasingSubsequenceOracle};
    longest_palindromic_substring: codegym_env_longest_palindromic_substring::{LongestPalindromicSubstring, LongestPalindromicSubstringOracle};
    lowest_common_ancestor: codegym_env_lowest_common_ancestor::{LowestCommonAncestor, LowestCommonAncestorOracle};
    maximum_subarray: codegym_env_maximum_subarray::{MaximumSubarray, MaximumSubarrayOracle};
    meeting_rooms: codegym_env_meeting_rooms::{MeetingRooms, MeetingRoomsOracle};
    merge_intervals: codegym_env_merge_intervals::{MergeIntervals, MergeIntervalsOracle};
    merge_sorted_lists: codegym_env_merge_sorted_lists::{MergeSortedLists, MergeSortedListsOracle};
    middle_of_linked_list: codegym_env_middle_of_linked_list::{MiddleOfLinkedList, MiddleOfLinkedListOracle};
    modular_power: codegym_env_modular_power::{ModularPower, ModularPowerOracle};
    next_greater_element: codegym_env_next_greater_element::{NextGreaterElement, NextGreaterElementOracle};
    number_of_islands: codegym_env_number_of_islands::{NumberOfIslands, NumberOfIslandsOracle};
    path_sum_count: codegym_env_path_sum_count::{PathSumCount, PathSumCountOracle};
    peak_element: codegym_env_peak_element::{PeakElement, PeakElementOracle};
    prime_sieve: codegym_env_prime_sieve::{PrimeSieve, PrimeSieveOracle};
    range_sum_queries: codegym_env_range_sum_queries::{RangeSumQueries, RangeSumQueriesOracle};
    rotate_matrix: codegym_env_rotate_matrix::{RotateMatrix, RotateMatrixOracle};
    rotated_array_minimum: codegym_env_rotated_array_minimum::{RotatedArrayMinimum, RotatedArrayMinimumOracle};
    run_length_encoding: codegym_env_run_length_encoding::{RunLengthEncoding, RunLengthEncodingOracle};
    search_sorted_matrix: codegym_env_search_sorted_matrix::{SearchSortedMatrix, SearchSortedMatrixOracle};
    single_number: codegym_env_single_number::{SingleNumber, SingleNumberOracle};
    sliding_window_maximum: codegym_env_sliding_window_maximum::{SlidingWindowMaximum, SlidingWindowMaximumOracle};
    sort_colors: codegym_env_sort_colors::{SortColors, SortColorsOracle};
    stack_parentheses: codegym_env_stack_parentheses::{StackParentheses, StackParenthesesOracle};
    subarray_sum_equals_k: codegym_env_subarray_sum_equals_k::{SubarraySumEqualsK, SubarraySumEqualsKOracle};
    topological_order: codegym_env_topological_order::{TopologicalOrder, TopologicalOrderOracle};
    trapping_rain_water: codegym_env_trapping_rain_water::{TrappingRainWater, TrappingRainWaterOracle};
    tree_max_depth: codegym_env_tree_max_depth::{TreeMaxDepth, TreeMaxDepthOracle};
    two_sum: codegym_env_two_sum::{TwoSum, TwoSumOracle};
}

/// `cargo xtask build-envs` drops the post-return of `step` (the SDK frees each observation
/// at the next step instead). A component built with it kept, as plain `wit-component`
/// would, must behave the same: the post-return's free of the retained observation is
/// ignored, never a double free.
#[test]
fn a_component_that_keeps_the_step_post_return_behaves_the_same() {
    let kept = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/test-envs/kept-post-return/binary-search.wasm");
    let kept = registry().host().load(&kept).expect("the fixture (run `cargo xtask build-envs`)");
    let shipped = registry().get("binary-search").expect("component");
    for seed in 0..5 {
        let config = shipped.sample_config(seed, 100).expect("config");
        let (mut a, mut b) = (shipped.start(&config).expect("start"), kept.start(&config).expect("start"));
        let mut oracle = OraclePolicy::default();
        oracle.start(&shipped, a.task()).expect("oracle");
        let mut observation = String::new();
        let mut steps = 0;
        while let Some(call) = oracle.next(&observation) {
            let (x, y) = (a.step(&call), b.step(&call));
            assert_eq!(
                (&x.observation, x.reward, x.done),
                (&y.observation, y.reward, y.done),
                "step {steps}"
            );
            observation = x.observation;
            steps += 1;
        }
        assert!(steps > 10 && a.is_done() && a.reward() == 1.0, "seed {seed}: {steps} steps");
    }
}
